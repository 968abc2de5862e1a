"""Per-token cross-entropy from the final hidden states and the output projection, without full-vocabulary logits.

A 16k-token sequence with a 32k (96k) vocabulary has 2 GiB (6 GiB) of fp32 logits per copy, and the plain
path keeps several copies alive through the backward pass. Here the logits exist one chunk of positions at
a time: each chunk's logits are computed, turned into per-token cross-entropy *and* into the gradient of the
loss with respect to the chunk's hidden states and the projection weight, then dropped. Computing the
gradient in the forward pass is possible because the loss is a fixed weighting of per-token cross-entropies
(``loss = Σ ceᵢ·wᵢ``): it costs the same three matrix products as the plain path and keeps no logits for
the backward pass (the scheme of Liger's fused linear cross-entropy, written in plain PyTorch so the CPU
path and CI run it too).

Rows whose weight is zero (outside the loss mask) get their cross-entropy for the metrics but no gradient
work when the caller says how many rows carry loss: those rows are moved to the front first.

Implementations, chosen by ``[trainer] loss_impl``:
  * ``chunked`` — the above (the default, "auto");
  * ``liger`` — Liger-Kernel's Triton ``LigerFusedLinearCrossEntropyLoss`` for the loss (CUDA, if installed),
    plus a no-grad chunked pass for the per-token metrics;
  * ``full`` — the plain full-logits path (reference; what Hugging Face does).
"""

from __future__ import annotations

import importlib.util
from typing import Any

#: fp32 bytes of one chunk's logits; 256 MiB keeps the matmuls large and the transient memory small
CHUNK_LOGIT_BYTES = 256 * 2**20


def default_chunk_size(vocab_size: int) -> int:
    """Rows per chunk: a power of two whose fp32 logits fit `CHUNK_LOGIT_BYTES` (256 … 8192)."""
    rows = max(1, CHUNK_LOGIT_BYTES // (4 * vocab_size))
    return min(8192, max(256, 1 << (rows.bit_length() - 1)))


def liger_available() -> bool:
    return importlib.util.find_spec("liger_kernel") is not None


def resolve_loss_impl(setting: str, device_type: str) -> str:
    """The implementation to use: ``auto`` is the chunked PyTorch path.

    On one H100 (DSC-1.3B shape, 16k) Liger measured the same speed and memory (benchmarks/RESULTS.md)
    but needs a second no-grad pass for the per-token metrics and an extra package, so it is opt-in.
    """
    if setting == "auto":
        return "chunked"
    if setting == "liger" and (device_type != "cuda" or not liger_available()):
        return "chunked"  # Liger is Triton-only: fall back rather than fail on CPU / without the package
    return setting


def _chunk_ce_and_grad(logits: Any, targets: Any, weights: Any) -> tuple[Any, Any]:
    """Cross-entropy of a chunk of logits and d(Σ ce·w)/d logits, in the logits' dtype; fp32 inside."""
    import torch

    logits = logits.float()
    lse = torch.logsumexp(logits, dim=-1)
    ce = lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    grad = torch.exp(logits - lse.unsqueeze(-1))  # softmax
    grad.scatter_add_(-1, targets.unsqueeze(-1), torch.full_like(lse, -1.0).unsqueeze(-1))
    grad.mul_(weights.unsqueeze(-1))
    return ce, grad


def _chunk_ce(logits: Any, targets: Any) -> Any:
    import torch

    logits = logits.float()
    return torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


_COMPILED: dict[str, Any] = {}


def compiled_chunk_kernel(backend: str = "inductor") -> Any:
    """`_chunk_ce_and_grad` compiled once for every number of rows.

    The chunks of one batch have the chunk size except the last, whose size follows the number of loss
    tokens and so changes from batch to batch: compiled for static shapes, each new size recompiled
    (about 2 s on an H200), which made file-level and packed training recompile at nearly every step.
    The row dimension is marked dynamic, so one graph serves every chunk; the vocabulary stays static.
    """
    import torch

    compiled = torch.compile(_chunk_ce_and_grad, backend=backend, dynamic=None)

    def kernel(logits: Any, targets: Any, weights: Any) -> Any:
        for tensor in (logits, targets, weights):
            torch._dynamo.maybe_mark_dynamic(tensor, 0)
        return compiled(logits, targets, weights)

    return kernel


def _chunk_kernel(device_type: str) -> Any:
    """The chunk's elementwise work, compiled into one pass over the logits on CUDA (eager elsewhere)."""
    if device_type != "cuda":
        return _chunk_ce_and_grad
    if "cuda" not in _COMPILED:
        compiled = compiled_chunk_kernel()

        def kernel(*args: Any) -> Any:
            try:
                return compiled(*args)
            except Exception:  # noqa: BLE001 - no working Triton/compiler here: the eager kernel is correct too
                _COMPILED["cuda"] = _chunk_ce_and_grad
                return _chunk_ce_and_grad(*args)

        _COMPILED["cuda"] = kernel
    return _COMPILED["cuda"]


def _fused_function() -> Any:
    import torch

    class FusedLinearCrossEntropy(torch.autograd.Function):
        """Σᵢ ceᵢ·wᵢ over rows of ``hidden``; gradients computed chunk by chunk in the forward pass."""

        @staticmethod
        def forward(ctx, hidden, weight, targets, weights, chunk_size, grad_rows, need_grad):
            rows = hidden.shape[0]
            ce = torch.empty(rows, dtype=torch.float32, device=hidden.device)
            grad_hidden = torch.zeros_like(hidden) if need_grad and hidden.requires_grad else None
            # fp32 accumulation across chunks: bf16 sums of several partial products lose bits
            grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) \
                if need_grad and weight.requires_grad else None
            need_grad = grad_hidden is not None or grad_weight is not None
            kernel = _chunk_kernel(hidden.device.type)
            for start in range(0, rows, chunk_size):
                stop = min(start + chunk_size, rows)
                h = hidden[start:stop]
                logits = h @ weight.t()
                if not need_grad or start >= grad_rows:
                    ce[start:stop] = _chunk_ce(logits, targets[start:stop])
                    continue
                ce_chunk, grad_logits = kernel(logits, targets[start:stop], weights[start:stop])
                ce[start:stop] = ce_chunk
                grad_logits = grad_logits.to(hidden.dtype)
                del logits
                if grad_hidden is not None:
                    grad_hidden[start:stop] = grad_logits @ weight
                if grad_weight is not None:
                    grad_weight.add_(grad_logits.t() @ h)
            loss = (ce * weights).sum()
            ctx.save_for_backward(grad_hidden, grad_weight.to(weight.dtype) if grad_weight is not None else None)
            ctx.mark_non_differentiable(ce)
            return loss, ce

        @staticmethod
        def backward(ctx, grad_loss, grad_ce):
            grad_hidden, grad_weight = ctx.saved_tensors
            # grad_loss is a scalar on the device (the loss scale): no host sync
            if grad_hidden is not None:
                grad_hidden = grad_hidden * grad_loss.to(grad_hidden.dtype)
            if grad_weight is not None:
                grad_weight = grad_weight * grad_loss.to(grad_weight.dtype)
            return grad_hidden, grad_weight, None, None, None, None, None

    return FusedLinearCrossEntropy


_FUNCTION: list[Any] = []


def linear_cross_entropy(hidden: Any, weight: Any, targets: Any, weights: Any, *, loss_rows: int | None = None,
                         loss_mask: Any = None, chunk_size: int = 0) -> tuple[Any, Any]:
    """(loss, per-token cross-entropy) of ``hidden @ weight.T`` against ``targets``, chunk by chunk.

    ``hidden`` is (..., d), ``weight`` (V, d), ``targets`` and ``weights`` shaped like ``hidden[..., 0]``;
    ``loss = Σ ceᵢ·weightsᵢ`` is differentiable in ``hidden`` and ``weight``; the cross-entropy (fp32, no
    grad) is there for metrics. With ``loss_mask`` and ``loss_rows`` (its count, known on the host so no
    sync is needed), only the masked rows get gradient work; ``weights`` must be zero outside the mask.
    """
    import torch

    if not _FUNCTION:
        _FUNCTION.append(_fused_function())
    shape = targets.shape
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    flat_targets, flat_weights = targets.reshape(-1), weights.reshape(-1).float()
    rows = flat_targets.numel()
    chunk_size = chunk_size or default_chunk_size(weight.shape[0])
    order = None
    if loss_mask is not None and loss_rows is not None and loss_rows < rows:
        # loss rows first (a stable sort keeps their order), so whole chunks past loss_rows skip the gradient
        order = torch.argsort((~loss_mask.reshape(-1).bool()).to(torch.int8), stable=True)
        flat_hidden, flat_targets, flat_weights = flat_hidden[order], flat_targets[order], flat_weights[order]
    grad_rows = rows if order is None else loss_rows
    loss, ce = _FUNCTION[0].apply(flat_hidden, weight, flat_targets, flat_weights, chunk_size, grad_rows,
                                   torch.is_grad_enabled())
    if order is not None:
        ce = torch.empty_like(ce).scatter_(0, order, ce)
    return loss, ce.view(shape)


def liger_linear_cross_entropy(hidden: Any, weight: Any, targets: Any, loss_mask: Any, scale: float) -> Any:
    """``scale · Σ_{loss_mask} ce`` through Liger's fused Triton kernel (gradients in its forward pass)."""
    import torch
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    masked = torch.where(loss_mask.bool(), targets, torch.full_like(targets, -100))
    loss_fn = LigerFusedLinearCrossEntropyLoss(reduction="sum", ignore_index=-100)
    loss = loss_fn(weight, hidden.reshape(-1, hidden.shape[-1]), masked.reshape(-1))
    return loss * scale


def logit_statistics(hidden: Any, weight: Any, targets: Any, *, chunk_size: int = 0,
                     rank: bool = True) -> tuple[Any, Any]:
    """(per-token cross-entropy, rank of the target or None) without grad, chunk by chunk.

    The rank is how many vocabulary entries score strictly above the target (0 = the argmax), which is
    all that top-k accuracy and teacher-forced exact match need.
    """
    import torch

    shape = targets.shape
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    flat_targets = targets.reshape(-1)
    rows = flat_targets.numel()
    chunk_size = chunk_size or default_chunk_size(weight.shape[0])
    ce = torch.empty(rows, dtype=torch.float32, device=hidden.device)
    ranks = torch.empty(rows, dtype=torch.long, device=hidden.device) if rank else None
    with torch.no_grad():
        for start in range(0, rows, chunk_size):
            stop = min(start + chunk_size, rows)
            logits = (flat_hidden[start:stop] @ weight.t()).float()
            target_logit = logits.gather(-1, flat_targets[start:stop].unsqueeze(-1))
            ce[start:stop] = torch.logsumexp(logits, dim=-1) - target_logit.squeeze(-1)
            if ranks is not None:
                ranks[start:stop] = (logits > target_logit).sum(-1)
    return ce.view(shape), ranks.view(shape) if ranks is not None else None


def supports_hidden_state_loss(model: Any) -> bool:
    """Whether loss from (final hidden states, lm_head weight) equals the model's own logits' loss.

    Models that scale or soft-cap their logits, or whose output layer has a bias, need the full path.
    """
    cfg = getattr(model, "config", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or getattr(head, "bias", None) is not None or not hasattr(model, "get_decoder"):
        return False
    for name in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale"):
        value = getattr(cfg, name, None)
        if value not in (None, 1, 1.0):
            return False
    return True
