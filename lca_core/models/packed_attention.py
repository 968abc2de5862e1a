"""Attention for packed sequences: several samples in one row, none attending across its boundaries.

Registered with transformers as ``lca_packed``. A packed forward passes ``cu_seq_lens_q`` (cumulative
sample lengths, int32) and ``max_length_q``, the names transformers uses for variable-length
attention; each sample then attends causally to itself only, with positions restarting at 0, so
the packed row computes exactly what the samples would one by one. On CUDA the samples go to
PyTorch's variable-length FlashAttention kernel in one call; elsewhere (or without that kernel) one
SDPA call per sample. A forward without ``cu_seq_lens_q`` (validation, unpacked) is plain causal SDPA:
exact for right-padded rows too, since no real token attends to a later pad.

Imported lazily (it imports torch and transformers).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

ATTENTION_NAME = "lca_packed"


def _varlen() -> tuple[Any, dict[str, Any]]:
    """PyTorch's variable-length attention and how this version asks it for causal attention (its signature
    changed between releases); (None, {}) without it. Resolved once at import: inspecting it inside the
    attention function would break the compiled decoder layer's graph at every call."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None, {}
    params = inspect.signature(varlen_attn).parameters
    if "is_causal" in params:
        return varlen_attn, {"is_causal": True}
    if "window_size" in params:
        return varlen_attn, {"window_size": (-1, 0)}
    return None, {}


VARLEN, CAUSAL = _varlen()


def packed_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: Any, scaling: float | None = None, dropout: float = 0.0,
                     cu_seq_lens_q: torch.Tensor | None = None, max_length_q: int | None = None,
                     **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers attention function; returns (batch × tokens × heads × dim, None) like the built-ins."""
    if cu_seq_lens_q is None:
        return sdpa_attention_forward(module, query, key, value, None, dropout=dropout, scaling=scaling,
                                      is_causal=True)
    if query.shape[0] != 1:
        raise ValueError("packed attention expects one packed row (batch 1)")
    heads, kv_heads = query.shape[1], key.shape[1]
    if query.is_cuda and VARLEN is not None:
        q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # tokens × heads × dim
        if kv_heads != heads:
            k = k.repeat_interleave(heads // kv_heads, dim=1)
            v = v.repeat_interleave(heads // kv_heads, dim=1)
        cu = cu_seq_lens_q.to(torch.int32)
        longest = int(max_length_q) if max_length_q is not None else int((cu[1:] - cu[:-1]).max())
        out = VARLEN(q, k, v, cu, cu, longest, longest, scale=scaling, **CAUSAL)
        return out.unsqueeze(0), None
    return _per_sample(module, query, key, value, cu_seq_lens_q, dropout, scaling), None


@torch.compiler.disable  # a loop over host-side bounds: one opaque call for Dynamo, not a graph per sample
def _per_sample(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, cu_seq_lens_q: torch.Tensor,
                dropout: float, scaling: float | None) -> torch.Tensor:
    outputs = []
    bounds = cu_seq_lens_q.tolist()
    for start, end in zip(bounds[:-1], bounds[1:]):
        piece = [t[:, :, start:end] for t in (query, key, value)]
        out, _ = sdpa_attention_forward(module, *piece, None, dropout=dropout, scaling=scaling, is_causal=True)
        outputs.append(out)
    return torch.cat(outputs, dim=1)


def use_packed_attention(model: Any) -> None:
    """Register ``lca_packed`` and make every attention layer of ``model`` use it."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, packed_attention)
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            config._attn_implementation = ATTENTION_NAME
