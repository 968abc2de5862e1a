"""Token-weighted training and validation metrics, accumulated on the device and read once per log row.

Names follow the newest original: ``<mask>_<metric>`` where the mask is '' (the loss mask), detached
(not in the loss mask), completion, context, full, or an LCA line category. docs/training.md lists them.
"""

from __future__ import annotations

import math
from typing import Any

from lca_core.data.schema import CATEGORY_NAMES as CATEGORIES  # id in category_ids -> metric prefix

TOP_K = (1, 3, 5, 10)
#: categories whose top-k accuracy is reported (the original's standard columns)
TOP_K_CATEGORIES = ("inproject",)
#: peak dense bf16 throughput of an H100 SXM, the reference for MFU
PEAK_FLOPS = 989e12


def token_cross_entropy(logits: Any, targets: Any) -> Any:
    """Per-token cross-entropy in fp32, shape of ``targets``."""
    import torch.nn.functional as F

    flat = logits.reshape(-1, logits.shape[-1]).float()
    return F.cross_entropy(flat, targets.reshape(-1), reduction="none").view(targets.shape)


def target_valid_mask(batch: dict[str, Any]) -> Any:
    """Targets that are real tokens: the preprocessor's target/attention mask, else every position."""
    import torch

    for key in ("target_attention_mask", "attention_mask"):
        if key in batch:
            return batch[key].bool()
    return torch.ones_like(batch["loss_mask"], dtype=torch.bool)


def named_masks(batch: dict[str, Any]) -> dict[str, Any]:
    """Metric prefix -> boolean mask over targets ('' is the loss mask)."""
    valid = target_valid_mask(batch)
    loss = batch["loss_mask"].bool() & valid
    masks = {"": loss, "detached_": ~loss & valid, "full_": valid}
    if "completion_mask" in batch:
        completion = batch["completion_mask"].bool() & valid
        masks["completion_"] = completion
        masks["context_"] = ~completion & valid
    if "category_ids" in batch:
        for cid, name in CATEGORIES.items():
            masks[f"{name}_"] = (batch["category_ids"] == cid) & valid
    return masks


class MetricAccumulator:
    """Sums per-token statistics over micro-batches; `compute()` turns them into token-weighted means.

    Everything stays a device tensor until `compute()`, so a training step costs no host sync per
    micro-batch. With ``newline_ids`` (a bool tensor over the vocabulary) and logits, it also scores
    top-k accuracy and teacher-forced line exact match.
    """

    def __init__(self, newline_ids: Any = None):
        self.newline_ids = newline_ids
        self.sums: dict[str, Any] = {}
        self.counts: dict[str, Any] = {}

    def reset(self) -> None:
        self.sums.clear()
        self.counts.clear()

    def _add(self, name: str, total: Any, count: Any) -> None:
        if name in self.sums:
            self.sums[name] = self.sums[name] + total
            self.counts[name] = self.counts[name] + count
        else:
            self.sums[name] = total
            self.counts[name] = count

    def update(self, ce: Any, batch: dict[str, Any], logits: Any = None, rank: Any = None) -> None:
        """Add one micro-batch: ``ce`` is its detached per-token cross-entropy.

        Top-k accuracy and exact match need ``rank`` (vocabulary entries scoring above the target, as
        `lca_core.training.loss.logit_statistics` gives it chunk by chunk) or the full ``logits``.
        """
        ce = ce.detach().float()
        masks = named_masks(batch)
        for prefix, mask in masks.items():
            self._add(f"{prefix}cross_entropy", (ce * mask).sum(), mask.sum())
        if logits is not None:
            target_logit = logits.gather(-1, batch["target_ids"].unsqueeze(-1))
            rank = (logits > target_logit).sum(-1)  # how many tokens beat the target: 0 = argmax
        if rank is None:
            return
        for k in TOP_K:
            hit = rank < k
            for prefix in ("", *(f"{c}_" for c in TOP_K_CATEGORIES)):
                if prefix in masks:
                    mask = masks[prefix]
                    self._add(f"{prefix}top_{k}_accuracy", (hit & mask).sum().float(), mask.sum())
        if self.newline_ids is not None:
            line_mask = masks.get("completion_", masks[""])
            self._line_exact_match(rank == 0, batch, line_mask)

    def _line_exact_match(self, correct: Any, batch: dict[str, Any], mask: Any) -> None:
        """Teacher-forced exact match: a line (ending after a newline-containing target) counts if every token is argmax."""
        import torch

        targets = batch["target_ids"]
        bsz, length = targets.shape
        ends = self.newline_ids.to(targets.device)[targets] & mask
        line = torch.cumsum(ends.long(), dim=1) - ends.long()  # the newline token belongs to its own line
        key = (torch.arange(bsz, device=targets.device).unsqueeze(1) * (length + 1) + line)[mask]
        bins = bsz * (length + 1)
        tokens = torch.zeros(bins, device=targets.device).index_add_(0, key, torch.ones_like(key, dtype=torch.float))
        wrong = torch.zeros(bins, device=targets.device).index_add_(0, key, (~correct[mask]).float())
        present = tokens > 0
        matched = present & (wrong == 0)
        self._add("completion_exact_match", matched.sum().float(), present.sum())
        if "category_ids" in batch:
            category = torch.full((bins,), -1, device=targets.device, dtype=torch.long)
            category.scatter_reduce_(0, key, batch["category_ids"][mask].long(), reduce="amax")
            for cid, name in CATEGORIES.items():
                in_cat = present & (category == cid)
                self._add(f"{name}_exact_match", (matched & in_cat).sum().float(), in_cat.sum())

    def compute(self, reduce: Any = None) -> dict[str, float]:
        """Token-weighted means (NaN where a mask was empty); one host sync.

        ``reduce`` (distributed runs) maps ``{name: [sum, count]}`` to the sums over every process, so the
        means are those of the global batch, not a mean of per-process means.
        """
        import torch

        names = list(self.sums)
        pairs = torch.stack([torch.stack([self.sums[n].float(), self.counts[n].float()]) for n in names]).tolist() \
            if names else []
        sums = dict(zip(names, pairs))
        if reduce is not None:
            sums = reduce(sums)
        return {n: (t / c if c else math.nan) for n, (t, c) in sums.items()}


def flops_per_token(num_params: int, num_layers: int, hidden_size: int, seq_len: int) -> float:
    """Training FLOPs per token: 6N for the dense part + 6·L·d·T for causal attention (PaLM's 6N + 12·L·d·T, attention halved by the causal mask)."""
    return 6.0 * num_params + 6.0 * num_layers * hidden_size * seq_len
