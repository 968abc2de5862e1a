"""A KV cache layer that writes new positions into buffers allocated once, instead of growing by concatenation.

Imported lazily (it imports torch and transformers): only ``LineCompleter`` uses it.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicLayer


class BufferedLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values live in buffers of ``capacity`` positions.

    ``DynamicLayer.update`` concatenates, copying the layer's whole cache at every decode step (at a
    16k-token context × batch 16 that dominates a step's memory traffic). Here new positions are
    written in place and ``keys``/``values`` are views of the filled part, so whatever reads them
    (lengths, mask sizes, attention) sees exactly what a ``DynamicLayer`` would. ``prefix`` (keys,
    values of shape batch × heads × length × dim; an ``expand``ed view is fine) is copied in at once,
    so the cache's length is right before the first forward. Only ``update`` is supported: no crop,
    reorder or reset.
    """

    def __init__(self, capacity: int, prefix: tuple[torch.Tensor, torch.Tensor] | None = None):
        super().__init__()
        self.capacity = capacity
        self.length = 0
        if prefix is not None:
            self._allocate(*prefix)

    def _allocate(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        batch, _, self.length, _ = keys.shape
        self.dtype, self.device = keys.dtype, keys.device
        self._keys = keys.new_empty((batch, keys.shape[1], self.capacity, keys.shape[-1]))
        self._values = values.new_empty((batch, values.shape[1], self.capacity, values.shape[-1]))
        self._keys[:, :, :self.length] = keys
        self._values[:, :, :self.length] = values
        self.keys, self.values = self._keys[:, :, :self.length], self._values[:, :, :self.length]
        self.is_initialized = True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self._allocate(key_states[:, :, :0], value_states[:, :, :0])

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start, end = self.length, self.length + key_states.shape[-2]
        if end > self.capacity:
            raise ValueError(f"KV buffer overflow: {end} positions, capacity {self.capacity}")
        self._keys[:, :, start:end] = key_states
        self._values[:, :, start:end] = value_states
        self.length = end
        self.keys, self.values = self._keys[:, :, :end], self._values[:, :, :end]
        return self.keys, self.values
