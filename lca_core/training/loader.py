"""Feeding the trainer: a micro-batch is a list of row indices read as one batch of tensors.

With ``[trainer] num_workers = 0`` the trainer reads each micro-batch in its own process (`fetch`); with
workers, a DataLoader composes and tokenizes ahead, reading the same index stream from the same sampler
position (`worker_batches`), so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any, Iterator

from lca_core.training.sampler import FusedSampler, rank_positions

#: the batch columns the trainer reads; anything else a preprocessor returns stays on the host
TENSOR_KEYS = ("input_ids", "target_ids", "loss_mask", "category_ids", "completion_mask", "attention_mask",
               "target_attention_mask")


def fetch(data: Any, indices: list[int]) -> dict[str, Any]:
    """The rows ``indices`` of ``data`` as one batch (the dataset's transform works per batch)."""
    batch = data[indices]
    return {k: batch[k] for k in TENSOR_KEYS if k in batch}


class BatchIndexStream:
    """The sampler's stream cut into micro-batches of row indices, from a position on (a DataLoader sampler)."""

    def __init__(self, sampler: FusedSampler, start: int, size: int, accum: int = 1, rank: int = 0,
                 world_size: int = 1):
        self.sampler, self.start, self.size = sampler, start, size
        self.accum, self.rank, self.world_size = accum, rank, world_size

    def __iter__(self):
        step = self.start
        while True:
            for position in rank_positions(step, self.size, self.accum, self.rank, self.world_size):
                yield self.sampler.indices(position, self.size)
            step += self.size * self.accum


class BatchFetcher:
    """Reads a whole micro-batch by its list of indices (a DataLoader dataset)."""

    def __init__(self, data: Any):
        self.data = data

    def __getitem__(self, indices: list[int]) -> dict[str, Any]:
        return fetch(self.data, indices)


def worker_batches(data: Any, sampler: FusedSampler, *, start: int, cfg: Any, rank: int, world_size: int,
                   seed: int, pin_memory: bool) -> Iterator[dict[str, Any]]:
    """This rank's micro-batches from sample position ``start`` on, read ahead by ``cfg.num_workers`` workers."""
    import torch
    from torch.utils.data import DataLoader

    stream = BatchIndexStream(sampler, start, cfg.micro_batch_size, cfg.gradient_accumulation_steps, rank, world_size)
    loader = DataLoader(BatchFetcher(data), batch_size=None, sampler=stream, num_workers=cfg.num_workers,
                        prefetch_factor=cfg.prefetch_factor, collate_fn=_as_is, pin_memory=pin_memory,
                        # its own generator: creating the loader must not draw from the global RNG
                        generator=torch.Generator().manual_seed(seed))
    return iter(loader)


def _as_is(batch: Any) -> Any:
    return batch
