"""Greedy line completion for the scored lines of a file, reusing the file's context KV cache (prefix reuse).

The protocol is the reference's (lca-baselines / kotlineval): the prompt of a line is the composed
context followed by the completion file up to that line; greedy decoding of at most
``max_new_tokens`` tokens stops at the first token containing a newline once ``min_new_tokens``
tokens have been generated (a newline before that cannot end the line); the prediction is the first
line of the generated text after leading newlines are dropped.

Every line of a file shares the composed context, so with ``prefix_reuse`` the context is run once,
its KV cache kept, and each line only prefills its own file prefix on top of it — several lines at a
time, left-padded inside the new segment. Without ``prefix_reuse`` each line runs its whole prompt
from scratch (the baseline the benchmark compares against). Both modes see exactly the same token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from lca_core.models.vocabulary import newline_token_mask

#: the reference pre-truncates the context by characters before tokenizing (tokenizers do not stop at max_length)
CHARS_PER_TOKEN_BOUND = 6


def tail(items: list[int], n: int) -> list[int]:
    """The last ``n`` items (none when n <= 0; ``items[-0:]`` would be all of them)."""
    return items[len(items) - n:] if n > 0 else []


def first_line(text: str) -> str:
    """The prediction of a line: the generated text without leading newlines, up to its first newline."""
    return text.lstrip("\n").split("\n", 1)[0]


def _common_length(a: list[int], b: list[int]) -> int:
    """How many leading items ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def file_prefix(completion: str, line_index: int) -> str:
    """The completion file up to (not including) line ``line_index``, ending with its newline."""
    lines = completion.split("\n")
    return "".join(line + "\n" for line in lines[:line_index])


def encode_context(tokenizer: Any, context: str, max_seq_len: int) -> tuple[list[int], int]:
    """(ids, head): the context's token ids behind a BOS where the tokenizer has one, as in training;
    ``head`` is 1 when ids[0] is that BOS (it survives any cut). The text is pre-cut by characters."""
    ids = tokenizer(context[-CHARS_PER_TOKEN_BOUND * max_seq_len:], add_special_tokens=True).input_ids
    bos = tokenizer.bos_token_id
    if bos is None:
        return ids, 0
    return (ids if ids and ids[0] == bos else [bos, *ids]), 1


@attrs.define(kw_only=True)
class LineCompleter:
    """Greedy completion of lines of one file at a time; build once per model and tokenizer."""

    model: Any
    tokenizer: Any
    max_seq_len: int = 16384
    max_new_tokens: int = 100
    min_new_tokens: int = 3
    batch_size: int = 8
    prefix_reuse: bool = True
    _newline: Any = attrs.field(default=None, init=False, repr=False)
    _device: Any = attrs.field(default=None, init=False, repr=False)
    _cache_kw: str = attrs.field(default="cache", init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        import inspect

        # transformers renamed `past_key_values` to `cache` in its 5.x series; accept either.
        forward = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in forward else "past_key_values"
        if self.max_seq_len <= self.max_new_tokens:
            raise ValueError(f"max_seq_len ({self.max_seq_len}) must exceed max_new_tokens ({self.max_new_tokens})")
        self._device = next(self.model.parameters()).device
        vocab = self.model.get_output_embeddings().weight.shape[0]
        self._newline = newline_token_mask(self.tokenizer, vocab).to(self._device)

    # --- prompts ------------------------------------------------------------------------------

    def encode(self, context: str, completion: str, line_indices: Sequence[int]) -> tuple[list[int], list[list[int]]]:
        """Token ids of the shared context and of each line's file prefix, cut to fit ``max_seq_len``.

        The context is cut once per file, from the left (keeping a leading BOS), so that the longest
        prompt plus ``max_new_tokens`` fits: the reference cut it per line, which rules out reuse.
        """
        tok = self.tokenizer
        ctx, head = encode_context(tok, context, self.max_seq_len)
        room = self.max_seq_len - self.max_new_tokens
        texts = [file_prefix(completion, i) for i in line_indices]
        prefixes = tok(texts, add_special_tokens=False).input_ids if texts else []  # one batched (parallel) call
        prefixes = [tail(p, room - head) for p in prefixes]
        longest = max((len(p) for p in prefixes), default=0)
        ctx = ctx[:head] + tail(ctx[head:], room - head - longest)
        return ctx, prefixes

    # --- generation ---------------------------------------------------------------------------

    def complete(self, context: str, completion: str, line_indices: Sequence[int]) -> list[str]:
        """The predicted text of each line in ``line_indices`` (0-based lines of ``completion``)."""
        return self.complete_ids(*self.encode(context, completion, line_indices))

    def complete_ids(self, ctx: list[int], prefixes: list[list[int]]) -> list[str]:
        """The predicted line after each ``ctx + prefix`` (token ids that already fit the window)."""
        import torch

        predictions: list[str] = []
        with torch.inference_mode():
            if not self.prefix_reuse:
                for prefix in prefixes:
                    predictions += self._generate([ctx + prefix], None)
                return predictions
            # The lines of a file share the file's prefix as well as the context: the KV of the longest
            # prompt serves every other prompt up to where their token ids agree (they differ only near a
            # prompt's end, where the tokenizer merges across the cut), so each row prefills a few tokens
            # of its own and attends the shared cache up to its own length. At least one token per row.
            prompts = [ctx + p for p in prefixes]
            spine = max(prompts, key=len, default=ctx)
            shared = [max(min(_common_length(prompt, spine), len(prompt) - 1), 0) for prompt in prompts]
            cached = spine[:max(shared, default=0)]
            kv = self._prefill(cached) if cached else None
            step = self.batch_size if kv is not None else 1  # no cache: rows of pads only would attend nothing
            for start in range(0, len(prompts), step):
                lengths = shared[start:start + step]
                rows = [prompt[n:] for prompt, n in zip(prompts[start:start + step], lengths)]
                predictions += self._generate(rows, kv, lengths)
        return predictions

    def _prefill(self, ids: list[int]) -> list[tuple[Any, Any]]:
        """Run the shared context once; its per-layer keys and values (batch 1)."""
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        self.model(
            input_ids=torch.tensor([ids], device=self._device),
            **{self._cache_kw: cache},
            use_cache=True,
            logits_to_keep=1,
        )
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _generate(self, rows: list[list[int]], kv: list[tuple[Any, Any]] | None,
                  lengths: list[int] | None = None) -> list[str]:
        """Greedy decoding of a batch of rows on top of ``kv`` (the shared cache, or None), of which row b
        sees the first ``lengths[b]`` positions (default: all)."""
        import torch
        from transformers import DynamicCache

        from lca_core.evaluation.kv_buffer import BufferedLayer

        if any(not row for row in rows):  # nothing to condition on (empty context, first line, no BOS)
            return [""] * len(rows)
        batch, width = len(rows), max(len(r) for r in rows)
        past = 0 if kv is None else kv[0][0].shape[-2]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((batch, width), pad, dtype=torch.long)
        present = torch.zeros((batch, width), dtype=torch.bool)
        for b, row in enumerate(rows):
            input_ids[b, width - len(row):] = torch.tensor(row)
            present[b, width - len(row):] = True
        input_ids, present = input_ids.to(self._device), present.to(self._device)
        seen = torch.tensor(lengths if lengths is not None else [past] * batch, device=self._device)[:, None]
        shared = (torch.arange(past, device=self._device)[None, :] < seen).long()
        attention = torch.cat([shared, present.long()], 1)
        positions = seen + (present.long().cumsum(1) - 1).clamp(min=0)
        # Every layer's K/V goes into a buffer sized for the whole run, written in place: a plain
        # DynamicCache would copy the (batch × context) cache at every decode step to append one token.
        capacity = past + width + self.max_new_tokens
        cache = DynamicCache(config=self.model.config)
        # expand() is a view: each row gets its own copy of the context once, into its buffer
        prefixes = [None] * len(cache.layers) if kv is None else [
            (k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in kv
        ]
        cache.layers = [BufferedLayer(capacity, prefix) for prefix in prefixes]
        logits = self.model(
            input_ids=input_ids, attention_mask=attention, position_ids=positions,
            **{self._cache_kw: cache}, use_cache=True, logits_to_keep=1,
        ).logits[:, -1]
        position = positions[:, -1:]
        eos = self.tokenizer.eos_token_id
        done = torch.zeros(batch, dtype=torch.bool, device=self._device)
        steps, alive = [], []
        for step in range(self.max_new_tokens):
            token = logits.argmax(-1)
            steps.append(token)
            alive.append(~done)
            stop = self._newline[token] if step + 1 >= self.min_new_tokens else torch.zeros_like(done)
            if eos is not None:
                stop = stop | (token == eos)
            done = done | stop
            if step + 1 == self.max_new_tokens or bool(done.all()):
                break
            attention = torch.cat([attention, torch.ones((batch, 1), dtype=torch.long, device=self._device)], 1)
            position = position + 1
            logits = self.model(
                input_ids=token[:, None], attention_mask=attention, position_ids=position,
                **{self._cache_kw: cache}, use_cache=True,
            ).logits[:, -1]
        tokens = torch.stack(steps, 1).cpu()
        keep = torch.stack(alive, 1).cpu()
        return [
            first_line(self.tokenizer.decode(tokens[b][keep[b]].tolist(), skip_special_tokens=True))
            for b in range(batch)
        ]
