"""Packing a micro-batch: its samples end to end in one row, so that padding is not computed.

A preprocessor right-pads short samples to the batch's longest; with ``[trainer] packing`` the
trainer instead concatenates the samples' real tokens into one row (every per-token column alike),
restarts the position ids at each sample, and records the sample boundaries for the packed
attention (`lca_core.models.packed_attention`), which never attends across them. The row is padded
only up to a multiple of ``multiple`` tokens, by a tail that is masked out of the loss and the
metrics. The loss is the same token-weighted mean over the same targets, so a packed micro-batch
gives the loss and gradients of its samples unpacked.
"""

from __future__ import annotations

from typing import Any

#: pad a packed row to a multiple of this many tokens (kernel-friendly shapes, few distinct lengths)
PACK_MULTIPLE = 128
#: per-token columns and the value their padding tail gets (others: 0 / False)
FILL = {"category_ids": -1}


def pack_micro_batch(batch: dict[str, Any], multiple: int = PACK_MULTIPLE) -> dict[str, Any]:
    """One packed row from a (rows × width) micro-batch; adds position_ids, cu_seq_lens and max_length."""
    import torch

    ids = batch["input_ids"]
    rows, width = ids.shape
    mask = batch.get("attention_mask")
    lengths = [int(n) for n in mask.sum(1)] if mask is not None else [width] * rows
    total = sum(lengths)
    tail = -total % multiple
    packed: dict[str, Any] = {}
    for key, value in batch.items():
        if key == "attention_mask" or not isinstance(value, torch.Tensor) or value.shape[:2] != (rows, width):
            continue
        pieces = [value[r, :n] for r, n in enumerate(lengths)]
        pieces.append(torch.full((tail, *value.shape[2:]), FILL.get(key, 0), dtype=value.dtype))
        packed[key] = torch.cat(pieces)[None]
    packed["attention_mask"] = torch.cat([torch.ones(total, dtype=torch.bool), torch.zeros(tail, dtype=torch.bool)])[None]
    sizes = lengths + ([tail] if tail else [])
    packed["position_ids"] = torch.cat([torch.arange(n) for n in sizes])[None]
    packed["cu_seq_lens"] = torch.tensor([0, *sizes], dtype=torch.int32).cumsum(0, dtype=torch.int32)
    packed["max_length"] = max(sizes)
    return packed


def packed_forward_kwargs(batch: dict[str, Any]) -> dict[str, Any]:
    """The extra model-forward arguments of a packed batch ({} for an unpacked one)."""
    if "cu_seq_lens" not in batch:
        return {}
    return {"position_ids": batch["position_ids"], "cu_seq_lens_q": batch["cu_seq_lens"],
            "cu_seq_lens_k": batch["cu_seq_lens"], "max_length_q": batch["max_length"],
            "max_length_k": batch["max_length"]}
