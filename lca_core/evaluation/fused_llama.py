"""A Llama decoder forward for shared-prefix line completion, with about half the kernels of transformers'.

A decode step of a small model (SmolLM2-135M: 30 layers, one token per row) is bound by its kernel count,
even as a CUDA graph: each of the ≈ 1,700 kernels of transformers' eager modules costs ≈ 4 µs on an H200
however little it computes. This forward does the same arithmetic in fewer kernels per layer:

- one matrix product for q, k, v *and* the rotated halves of q and k (``rotate_half`` folded into a
  copy of the weight rows: a row permutation with signs, so each product element is the same dot
  product, negated or not); rotary embedding is then a multiply-add over q and k together;
- one matrix product for the MLP's gate and up projections;
- RMSNorm as a fused normalisation and a multiply (``torch.nn.functional.rms_norm``; transformers'
  module is ≈ 8 kernels), rounding where transformers rounds: the same bits in bfloat16 on the CPU;
- the attention of `shared_prefix` (shared keys read once for all rows, masks made once per forward).

Only plain Llama layers qualify (`unsupported` says why a model does not); every other model runs
through transformers' modules with the same attention. The fused weights are copies (about the size
of the attention and MLP weights again), made on first use and kept while the `LineCompleter` lives.

Imported lazily: it imports torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

#: model types whose decoder layer is exactly: RMSNorm, q/k/v/o without bias, rotary, RMSNorm, SiLU-gated MLP
LLAMA_TYPES = ("llama",)


def unsupported(model: Any) -> str | None:
    """Why ``model`` cannot run through `FusedLlama` (None: it can)."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) not in LLAMA_TYPES:
        return f"model type {getattr(config, 'model_type', None)!r} is not one of {LLAMA_TYPES}"
    if getattr(config, "hidden_act", "silu") != "silu" or getattr(config, "mlp_bias", False) \
            or getattr(config, "attention_bias", False):
        return "activation other than SiLU or linear layers with bias"
    inner = getattr(model, "model", None)
    if inner is None or not all(hasattr(inner, name) for name in ("embed_tokens", "rotary_emb", "norm", "layers")):
        return "not a LlamaForCausalLM layout (model.model.embed_tokens/rotary_emb/norm/layers)"
    for layer in inner.layers:
        attention, mlp = layer.self_attn, layer.mlp
        linears = [getattr(attention, n, None) for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
        linears += [getattr(mlp, n, None) for n in ("gate_proj", "up_proj", "down_proj")]
        if any(type(m) is not torch.nn.Linear or m.bias is not None for m in linears):  # quantized, LoRA, biased
            return "a projection that is not a plain torch.nn.Linear without bias"
        if any(hasattr(attention, n) for n in ("q_norm", "k_norm")):
            return "q/k normalisation"
    return None


def _rotated_rows(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """Rows of ``weight`` (heads·dim × hidden) such that x @ result.T == rotate_half(x @ weight.T) per head."""
    heads = weight.shape[0] // dim
    w = weight.view(heads, 2, dim // 2, -1)
    return torch.cat([-w[:, 1], w[:, 0]], dim=1).reshape(weight.shape)


class FusedLayer:
    """One decoder layer's weights, fused where it saves kernels (see the module docstring)."""

    def __init__(self, layer: Any, dim: int):
        attention, mlp = layer.self_attn, layer.mlp
        q, k, v = attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight
        self.qk = q.shape[0] + k.shape[0]
        self.w_qkv = torch.cat([q, k, _rotated_rows(q, dim), _rotated_rows(k, dim), v]).detach()
        self.w_o = attention.o_proj.weight.detach()
        self.w_gate_up = torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()
        self.w_down = mlp.down_proj.weight.detach()
        self.norm_in = (layer.input_layernorm.weight.detach(), layer.input_layernorm.variance_epsilon)
        self.norm_post = (layer.post_attention_layernorm.weight.detach(),
                          layer.post_attention_layernorm.variance_epsilon)
        self.scaling = getattr(attention, "scaling", dim ** -0.5)


def _norm(x: torch.Tensor, weight_eps: tuple[torch.Tensor, float]) -> torch.Tensor:
    """transformers' LlamaRMSNorm in two kernels: normalised in float32 and rounded to x's dtype (one fused
    kernel), then times the weight in that dtype. With the weight inside the fused kernel (one rounding
    instead of two) a bf16 SmolLM2 agreed with the no-reuse reference on fewer lines: 36 instead of 41 of
    48 (path_distance, 2k window, CPU) and 46–47 instead of 51–52 of 61 (8k, one H200)."""
    weight, eps = weight_eps
    return F.rms_norm(x, (x.shape[-1],), None, eps) * weight


class FusedLlama:
    """The forward of a Llama causal LM over `RowBuffers` (the shared-prefix rows), with fused weights.

    ``forward(tokens, positions, rows, keep)``: tokens and positions are rows × queries; it writes each
    query's keys and values into the rows' buffer slots (``rows.query_slot``) and returns the logits at
    query index ``keep`` (an int or an index tensor), like transformers' ``logits_to_keep``.
    """

    def __init__(self, model: Any):
        from lca_core.evaluation.shared_prefix import _shape

        inner = model.model
        _, self.heads, self.kv_heads, self.dim, _ = _shape(model)
        self.embed, self.rotary, self.head = inner.embed_tokens, inner.rotary_emb, model.get_output_embeddings()
        self.norm = (inner.norm.weight.detach(), inner.norm.variance_epsilon)
        self.layers = [FusedLayer(layer, self.dim) for layer in inner.layers]

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, rows: Any, keep: Any) -> torch.Tensor:
        from lca_core.evaluation.shared_prefix import attend, prepare_forward

        batch, queries = tokens.shape
        hidden = self.embed(tokens)
        cos, sin = self.rotary(hidden, positions)  # rows × queries × dim, in the model's dtype
        cos, sin = cos[:, :, None], sin[:, :, None]  # broadcast over the q and k heads
        prepare_forward(rows, self.heads, self.kv_heads, hidden.dtype, queries)
        heads, kv, dim = self.heads, self.kv_heads, self.dim
        for index, layer in enumerate(self.layers):
            projected = F.linear(_norm(hidden, layer.norm_in), layer.w_qkv)
            qk = projected[..., :layer.qk].view(batch, queries, heads + kv, dim)
            qk_rotated = projected[..., layer.qk:2 * layer.qk].view(batch, queries, heads + kv, dim)
            qk = qk * cos + qk_rotated * sin  # transformers' apply_rotary_pos_emb, for q and k at once
            value = projected[..., 2 * layer.qk:].view(batch, queries, kv, dim)
            out = attend(rows, index, qk[:, :, :heads].transpose(1, 2), qk[:, :, heads:].transpose(1, 2),
                         value.transpose(1, 2), layer.scaling)
            hidden = hidden + F.linear(out.reshape(batch, queries, heads * dim), layer.w_o)
            gate, up = F.linear(_norm(hidden, layer.norm_post), layer.w_gate_up).chunk(2, dim=-1)
            hidden = hidden + F.linear(F.silu(gate) * up, layer.w_down)
        hidden = hidden[:, keep] if isinstance(keep, torch.Tensor) else hidden[:, -keep:]
        return self.head(_norm(hidden, self.norm))
