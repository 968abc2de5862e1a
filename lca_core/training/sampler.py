"""FusedSampler: one endless, seeded stream of sample indices (epoch after epoch), resumable at any position.

The stream is epoch 0's permutation, then epoch 1's, ... (the original's per-epoch permutations, fused).
Epoch ``e``'s permutation depends only on (seed, e), so position ``p`` is found in O(1) epochs — a
resumed run never iterates through the samples it already consumed. The stream is global: in a
distributed run every rank reads the same stream and takes its own slice of each step's samples.
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.define
class FusedSampler:
    """Sample indices of a dataset of ``num_samples`` rows, in seeded per-epoch permutations (or in order)."""

    num_samples: int
    seed: int = 0
    shuffle: bool = True
    _epoch: int = attrs.field(default=-1, init=False, repr=False)
    _order: np.ndarray | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.num_samples <= 0:
            raise ValueError("FusedSampler needs a non-empty dataset")

    def permutation(self, epoch: int) -> np.ndarray:
        """The order of epoch ``epoch`` (cached: consecutive reads stay in one or two epochs)."""
        if epoch != self._epoch:
            if self.shuffle:
                self._order = np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)
            else:
                self._order = np.arange(self.num_samples)
            self._epoch = epoch
        assert self._order is not None
        return self._order

    def indices(self, start: int, count: int) -> list[int]:
        """The ``count`` sample indices at stream positions ``start, start+1, ...``."""
        out: list[int] = []
        position = start
        while len(out) < count:
            epoch, offset = divmod(position, self.num_samples)
            take = min(count - len(out), self.num_samples - offset)
            out.extend(int(i) for i in self.permutation(epoch)[offset:offset + take])
            position += take
        return out

    def epoch(self, position: int) -> float:
        """Epochs completed at stream position ``position`` (fractional)."""
        return position / self.num_samples


def rank_positions(step_start: int, micro_batch_size: int, accumulation: int, rank: int = 0,
                   world_size: int = 1) -> list[int]:
    """Stream positions of the micro-batches rank ``rank`` runs in the optimizer step starting at ``step_start``.

    A step reads ``accumulation`` micro-batches (global) from the stream; rank r takes the r-th contiguous
    share of them. Every world size therefore trains on the same samples per step, and the step's end
    (``step_start + micro_batch_size × accumulation``) is the same global position for every rank.
    """
    share = accumulation // world_size
    first = rank * share
    return [step_start + (first + k) * micro_batch_size for k in range(share)]
