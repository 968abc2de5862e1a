"""Attention over one shared prefix KV cache plus a small KV buffer per row, for batched line completion.

All prompts of a file are prefixes of one token sequence (context + the file up to its last scored
line), up to a few tokens at each prompt's end where the tokenizer merges differently. So the file's
longest prompt is run once (``prefill_shared``); each row then attends to the first ``shared_len[b]``
positions of that one cache (never copied per row) and to its own few tokens and generated tokens,
kept in a per-row buffer (``RowBuffers``). Softmax runs over both parts at once, so the result is
the same attention a row would get over its own full prompt.

The decode step has static shapes and reads its inputs from tensors updated in place, so on CUDA it
is captured once in a CUDA graph and replayed for every token (``DecodeGraph``): an eager decode step
of a 1B model is launch-bound (hundreds of small kernels), a replay is not.

Imported lazily: it imports torch and transformers.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch

#: the name under which `shared_prefix_attention` is registered with transformers' attention interface
ATTENTION_NAME = "lca_shared_prefix"
#: a prefill of at most this many own tokens per row goes through the batched softmax (scores over the
#: shared part materialised: rows × heads × tokens × window floats); longer ones row by row through SDPA
SHORT_PREFILL = 16


def _shape(model: Any) -> tuple[int, int, int, int, int]:
    """(layers, heads, kv_heads, head_dim, vocab) of a causal LM."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, heads, kv_heads, dim, config.vocab_size


class SharedKV:
    """Every layer's keys and values of a file's shared prompt (kv_heads × positions × dim), one copy for all rows."""

    def __init__(self, model: Any, capacity: int):
        layers, _, kv_heads, dim, _ = _shape(model)
        weight = next(model.parameters())
        self.capacity = capacity
        self.keys = torch.zeros((layers, kv_heads, capacity, dim), device=weight.device, dtype=weight.dtype)
        self.values = torch.zeros_like(self.keys)

    def load(self, cache_layers: list[tuple[torch.Tensor, torch.Tensor]]) -> int:
        """Copy a batch-1 prefill's keys and values in (positions beyond stay masked); returns its length."""
        length = cache_layers[0][0].shape[-2]
        for layer, (keys, values) in enumerate(cache_layers):
            self.keys[layer, :, :length] = keys[0]
            self.values[layer, :, :length] = values[0]
        return length


class RowBuffers:
    """Per-row K/V buffers (rows × kv_heads × slots × dim per layer) over a `SharedKV`.

    ``shared_len[b]``: how many shared positions row ``b`` sees. ``query_slot``: the buffer slot of each
    query token of the current forward (rows × queries); the step writes its keys and values there.
    A row's slots of one KV head are contiguous, so the attention reads them without reordering.
    """

    def __init__(self, model: Any, rows: int, slots: int, shared: SharedKV):
        layers, _, kv_heads, dim, _ = _shape(model)
        device, dtype = shared.keys.device, shared.keys.dtype
        self.device, self.rows, self.slots, self.shared = device, rows, slots, shared
        self.row_k = torch.zeros((layers, rows, kv_heads, slots, dim), device=device, dtype=dtype)
        self.row_v = torch.zeros_like(self.row_k)
        self.shared_len = torch.zeros(rows, dtype=torch.long, device=device)
        #: the slots of the decode step's one token per row (a static tensor: the CUDA graph reads it)
        self.decode_slot = torch.zeros((rows, 1), dtype=torch.long, device=device)
        #: the slots of the current forward's queries (rows × queries): decode_slot, or the prefill's slots
        self.query_slot = self.decode_slot
        self._row_index = torch.arange(rows, device=device)[:, None]
        #: the rows a forward covers (a prefill may take a few rows at a time; a decode step takes all)
        self.active = self._row_index
        #: host copy of shared_len for the rows of a prefill (it slices the shared part per row)
        self.prefill_seen: list[int] = []
        #: the current forward's shared state (`prepare_forward`): where its keys/values go, its masks
        self.forward: ForwardState | None = None
        self._slot_index = torch.arange(slots, device=device)
        self._shared_index = torch.arange(shared.capacity, device=device)
        self._kv_index = torch.arange(kv_heads, device=device)

    @staticmethod
    def bytes_per_row(model: Any, slots: int, shared_capacity: int) -> int:
        """Memory one more row costs: its K/V slots, its attention scores over the shared part, its logits."""
        layers, heads, kv_heads, dim, vocab = _shape(model)
        element = next(model.parameters()).element_size()
        kv = 2 * layers * slots * kv_heads * dim * element
        scores = 3 * heads * shared_capacity * 4  # float32 scores, exponentials and a mask of one decode step
        return kv + scores + 2 * vocab * 4


@attrs.frozen
class ForwardState:
    """What every layer of one forward shares, made once by `prepare_forward`.

    ``write``: the (row, kv head, slot) index of each query's keys/values in a layer's row buffers, as
    index tensors that broadcast to rows × queries × kv_heads. ``rows``: the forward's rows among the
    buffers' (None: all of them, a decode step). ``cascade``: attention by `_cascade` (a decode step or
    a short prefill), with its additive masks (0 or -inf) ``shared_bias`` (rows·group·queries ×
    capacity) and ``own_bias`` (rows·kv_heads × group·queries × slots); else row by row through SDPA.
    """

    write: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    rows: torch.Tensor | None
    cascade: bool
    shared_bias: torch.Tensor | None
    own_bias: torch.Tensor | None


def prepare_forward(rows: RowBuffers, heads: int, kv_heads: int, dtype: torch.dtype, queries: int) -> ForwardState:
    """Make (and keep in ``rows.forward``) the index and masks every layer of this forward uses."""
    decode = rows.active is rows._row_index
    cascade = decode or queries <= SHORT_PREFILL
    index = None if decode else rows.active[:, 0]
    slot = rows.query_slot  # (rows of this forward, queries)
    write = (rows.active[:, :, None], rows._kv_index[None, None, :], slot[:, :, None])
    shared_bias = own_bias = None
    if cascade:
        shared_len = rows.shared_len if index is None else rows.shared_len[index]
        shared_bias, own_bias = _masks(rows, shared_len, heads // kv_heads, kv_heads, dtype)
    rows.forward = ForwardState(write, index, cascade, shared_bias, own_bias)
    return rows.forward


def _masks(rows: RowBuffers, shared_len: torch.Tensor, group: int, kv_heads: int,
           dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """`_cascade`'s additive masks of the shared positions and of the own slots each query may see."""
    slot = rows.query_slot
    batch, queries = slot.shape
    # made on the device from Python scalars only: this runs inside CUDA graph capture, where a host copy fails
    shared = torch.zeros((batch, rows.shared.capacity), dtype=dtype, device=slot.device)
    shared.masked_fill_(rows._shared_index[None, :] >= shared_len[:, None], float("-inf"))
    shared = shared[:, None, :].expand(batch, group * queries, -1).reshape(batch * group * queries, -1)
    own = torch.zeros((batch, queries, rows.slots), dtype=dtype, device=slot.device)
    own.masked_fill_(rows._slot_index[None, None, :] > slot[:, :, None], float("-inf"))
    own = own[:, None, None].expand(batch, kv_heads, group, queries, -1).reshape(batch * kv_heads, group * queries, -1)
    return shared, own


def attend(rows: RowBuffers, layer: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
           scale: float) -> torch.Tensor:
    """Layer ``layer``'s attention of one forward (after `prepare_forward`): this forward's keys/values
    (rows × kv_heads × queries × dim, any strides) go to their row slots, then each query (rows × heads ×
    queries × dim) attends to its visible shared positions and own slots. Returns rows × queries × heads × dim."""
    state = rows.forward
    # one scatter per tensor: (rows, queries, kv_heads) index tensors, no reordering copy of the source
    rows.row_k[layer].index_put_(state.write, key.transpose(1, 2))
    rows.row_v[layer].index_put_(state.write, value.transpose(1, 2))
    if not state.cascade:  # many own tokens (a cut file): fused attention row by row
        return _prefill_attention(rows, layer, query, key, value, scale)
    # a decode step, or the usual prefill of a few tokens per row: softmax over shared + own at once
    own_k = rows.row_k[layer] if state.rows is None else rows.row_k[layer][state.rows]
    own_v = rows.row_v[layer] if state.rows is None else rows.row_v[layer][state.rows]
    return _cascade(rows, layer, query, own_k, own_v, state.shared_bias, state.own_bias, scale)


def shared_prefix_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                            attention_mask: Any, scaling: float | None = None, dropout: float = 0.0,
                            lca_rows: RowBuffers | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers attention function: `attend` for models that run through their own modules."""
    rows = lca_rows
    if rows is None:
        raise RuntimeError(f"{ATTENTION_NAME} attention needs lca_rows= (a RowBuffers) in the forward call")
    layer = module.layer_idx
    if layer == 0 or rows.forward is None:  # what every layer of this forward shares: made once per forward
        prepare_forward(rows, query.shape[1], key.shape[1], query.dtype, query.shape[2])
    scale = query.shape[-1] ** -0.5 if scaling is None else scaling
    return attend(rows, layer, query, key, value, scale), None


def _cascade(rows: RowBuffers, layer: int, query: torch.Tensor, own_k: torch.Tensor, own_v: torch.Tensor,
             shared_bias: torch.Tensor, own_bias: torch.Tensor, scale: float) -> torch.Tensor:
    """Attention of ``query`` (rows × heads × queries × dim) over the shared positions and the row's own slots
    (``own_k``/``own_v``: rows × kv_heads × slots × dim) that the additive masks leave visible; one softmax
    over both (the exact attention of the row's prompt). Returns rows × queries × heads × dim.

    Few kernels per layer, because a decode step of a small model is bound by their number: the masks come
    in precomputed, scaling and masking ride on the score products (baddbmm), one fp32 softmax covers both
    parts, and the sum of the two parts is written straight in the output's layout."""
    batch, heads, queries, dim = query.shape
    kv_heads, slots = own_k.shape[1], own_k.shape[2]
    group = heads // kv_heads
    gq = group * queries
    capacity = rows.shared.capacity
    # queries grouped by their KV head: (batch, kv_heads, group·queries, dim)
    q = query.reshape(batch, kv_heads, gq, dim)
    # shared part: one batched product per KV head, all rows and queries stacked as its M dimension
    q_shared = q.transpose(0, 1).reshape(kv_heads, batch * gq, dim)
    # both parts' scores side by side in one buffer, the shared ones written there by their product (a
    # strided output): no concatenation, which copied the whole (rows × window) score matrix per layer
    scores = torch.empty((kv_heads, batch * gq, capacity + slots), dtype=query.dtype, device=query.device)
    torch.baddbmm(shared_bias, q_shared, rows.shared.keys[layer].transpose(1, 2), alpha=scale,
                  out=scores[..., :capacity])
    # own part: (batch·kv_heads, group·queries, slots), then into its columns (a small copy)
    own_keys = own_k.reshape(batch * kv_heads, slots, dim).transpose(1, 2)
    own_scores = torch.baddbmm(own_bias, q.reshape(batch * kv_heads, gq, dim), own_keys, alpha=scale)
    scores[..., capacity:].view(kv_heads, batch, gq, slots).copy_(
        own_scores.view(batch, kv_heads, gq, slots).transpose(0, 1))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(own_v.dtype).view(kv_heads, batch, gq, -1)
    shared_out = torch.bmm(probs[..., :capacity].reshape(kv_heads, batch * gq, capacity), rows.shared.values[layer])
    own_probs = probs[..., capacity:].transpose(0, 1).reshape(batch * kv_heads, gq, slots)
    own_out = torch.bmm(own_probs, own_v.reshape(batch * kv_heads, slots, dim))
    # the sum lands in rows × queries × heads × dim memory order, ready for the output projection
    out = torch.empty((batch, queries, kv_heads, group, dim), dtype=own_v.dtype, device=own_v.device)
    torch.add(shared_out.view(kv_heads, batch, group, queries, dim).transpose(0, 1),
              own_out.view(batch, kv_heads, group, queries, dim), out=out.permute(0, 2, 3, 1, 4))
    return out.view(batch, queries, heads, dim)


def _prefill_attention(rows: RowBuffers, layer: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                       scale: float) -> torch.Tensor:
    """A prefill of each row's own tokens (slots 0..n-1): one fused SDPA call per row over its visible
    shared keys followed by its own, causal from the bottom right. Its own tokens may be many (a file
    longer than the window is cut differently for each line), so no score matrix is materialised."""
    import torch.nn.functional as F
    from torch.nn.attention.bias import causal_lower_right

    heads, kv_heads, queries = query.shape[1], key.shape[1], query.shape[2]
    outputs = []
    for b, seen in enumerate(rows.prefill_seen):
        keys = torch.cat([rows.shared.keys[layer][:, :seen], key[b]], dim=1)
        values = torch.cat([rows.shared.values[layer][:, :seen], value[b]], dim=1)
        if kv_heads != heads:
            keys = keys.repeat_interleave(heads // kv_heads, dim=0)
            values = values.repeat_interleave(heads // kv_heads, dim=0)
        mask = causal_lower_right(queries, seen + queries)
        out = F.scaled_dot_product_attention(query[b][None], keys[None], values[None], attn_mask=mask, scale=scale)
        outputs.append(out)
    return torch.cat(outputs).transpose(1, 2).contiguous()


def register() -> None:
    """Make the attention function known to transformers (idempotent)."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, shared_prefix_attention)


class attention_implementation:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Run the model's attention through ``name`` inside the block, restoring the previous one after."""

    def __init__(self, model: Any, name: str):
        self.model, self.name = model, name

    def __enter__(self) -> None:
        register()
        self.configs = [m.config for m in self.model.modules() if hasattr(m, "config")
                        and hasattr(m.config, "_attn_implementation")]
        self.saved = [c._attn_implementation for c in self.configs]
        for config in self.configs:
            config._attn_implementation = self.name

    def __exit__(self, *exc: Any) -> None:
        for config, saved in zip(self.configs, self.saved):
            config._attn_implementation = saved


class DecodeGraph:
    """One decode step (one token per row) captured as a CUDA graph over static input tensors.

    ``forward(tokens, positions, rows, keep)`` is the model's forward over the row buffers (logits of
    the last ``keep`` queries): `fused_llama.FusedLlama.forward` or `model_forward` bound to a model.
    """

    def __init__(self, forward: Any, rows: RowBuffers):
        self.forward, self.rows = forward, rows
        self.tokens = torch.zeros((rows.rows, 1), dtype=torch.long, device=rows.device)
        self.positions = torch.zeros_like(self.tokens)
        self.graph: Any = None
        self.logits: torch.Tensor | None = None

    def _forward(self) -> torch.Tensor:
        return self.forward(self.tokens, self.positions, self.rows, 1)[:, -1]

    def capture(self) -> None:
        """Warm up on a side stream (kernels, cuBLAS handles), then record the step."""
        self.rows.query_slot, self.rows.active = self.rows.decode_slot, self.rows._row_index
        saved = self.rows.decode_slot.clone()
        self.rows.decode_slot.fill_(self.rows.slots - 1)  # warm-up writes land in the last slot, written before read
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._forward()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = self._forward()
        self.rows.decode_slot.copy_(saved)

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        """Logits (rows × vocab) after feeding ``tokens`` at ``positions``, writing K/V into ``slots``."""
        self.rows.query_slot, self.rows.active = self.rows.decode_slot, self.rows._row_index
        self.rows.decode_slot.copy_(slots)
        self.tokens.copy_(tokens)
        self.positions.copy_(positions)
        if self.graph is None:
            return self._forward()
        self.graph.replay()
        return self.logits


def model_forward(model: Any, tokens: torch.Tensor, positions: torch.Tensor, rows: RowBuffers,
                  keep: Any) -> torch.Tensor:
    """The model's own forward over the row buffers (inside ``attention_implementation(model, ATTENTION_NAME)``):
    logits of the queries ``keep`` selects (transformers' ``logits_to_keep``)."""
    return model(input_ids=tokens, position_ids=positions, use_cache=False, logits_to_keep=keep,
                 lca_rows=rows).logits
