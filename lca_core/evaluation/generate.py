"""Greedy line completion for the scored lines of a file, reusing the file's context KV cache (prefix reuse).

The protocol is the reference's (lca-baselines / kotlineval): the prompt of a line is the composed
context followed by the completion file up to that line; greedy decoding of at most
``max_new_tokens`` tokens stops at the first token containing a newline once ``min_new_tokens``
tokens have been generated (a newline before that cannot end the line); the prediction is the first
line of the generated text after leading newlines are dropped.

Every prompt of a file is a prefix of the file's longest prompt (context + the file up to its last
scored line), except for a few tokens at its end where the tokenizer merges across the cut
differently. So with ``prefix_reuse`` the longest prompt is run once and its KV cache kept as one
copy; each line prefills only the tokens where its own prompt differs (usually one or two), and
all lines of a batch decode together, each attending to its part of the shared cache plus its own
tokens (`shared_prefix`). On CUDA the decode step is a captured CUDA graph. Without
``prefix_reuse`` each line runs its whole prompt from scratch (the baseline the benchmark compares
against). Both modes see exactly the same token ids.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import attrs

from lca_core.models.vocabulary import newline_token_mask

#: the reference pre-truncates the context by characters before tokenizing (tokenizers do not stop at max_length)
CHARS_PER_TOKEN_BOUND = 6
#: automatic batch size: at most this many lines at once, using at most this share of free GPU memory
MAX_AUTO_BATCH = 64
AUTO_BATCH_MEMORY_SHARE = 0.5
CPU_AUTO_BATCH = 8
#: tokens a row usually prefills itself (where its prompt leaves the shared one); more are allowed
OWN_TOKENS = 8
#: at most this many tokens in one forward of the rows' own prefill (bounds its activation memory)
PREFILL_TOKENS = 16384
#: decode shapes (row buffers + CUDA graph) kept at once
MAX_STEPPERS = 2
#: the counters of `LineCompleter.stats`
STAT_KEYS = ("files", "shared_prefill_s", "shared_tokens", "row_prefill_s", "capture_s", "captures", "decode_s",
             "decode_steps", "batches", "rows")


def common_prefix_length(a: Any, b: Any) -> int:
    """How many leading items ``a`` and ``b`` (sequences or numpy arrays) share."""
    import numpy as np

    n = min(len(a), len(b))
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if len(differ) else n


#: prompts tried as the shared one of a file (the longest is always among them)
SHARED_CANDIDATES = 16


def shared_prompt(prompts: list[list[int]]) -> tuple[list[int], list[int]]:
    """(the prompt whose KV is shared, how many of its positions each prompt sees).

    Usually every prompt is a prefix of the longest one but for its last tokens. A file longer than
    the window breaks that: each long line's prompt is cut from the left differently, and only the
    uncut ones are prefixes of each other. So the prompt that lets the others reuse the most
    positions is taken, among the longest and a spread of others. Each prompt keeps at least its
    last token for itself, so that its first prediction comes from its own forward.
    """
    import numpy as np

    arrays = [np.asarray(p) for p in prompts]
    longest = max(range(len(prompts)), key=lambda i: len(prompts[i]))
    spread = range(0, len(prompts), max(1, len(prompts) // SHARED_CANDIDATES))
    best, best_seen, best_total = None, None, -1
    for c in dict.fromkeys([longest, *spread]):
        seen = [min(common_prefix_length(a, arrays[c]), len(a) - 1, len(arrays[c]) - 1) for a in arrays]
        if sum(seen) > best_total:
            best, best_seen, best_total = c, seen, sum(seen)
    return prompts[best], best_seen


def tail(items: list[int], n: int) -> list[int]:
    """The last ``n`` items (none when n <= 0; ``items[-0:]`` would be all of them)."""
    return items[len(items) - n:] if n > 0 else []


def first_line(text: str) -> str:
    """The prediction of a line: the generated text without leading newlines, up to its first newline."""
    return text.lstrip("\n").split("\n", 1)[0]


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
    #: lines decoded together; 0 = as many as fit in free GPU memory (at most MAX_AUTO_BATCH; 8 on the CPU)
    batch_size: int = 0
    prefix_reuse: bool = True
    #: capture the decode step as a CUDA graph (CUDA only)
    cuda_graphs: bool = True
    #: run plain Llama models (model_type llama) through `fused_llama.FusedLlama` (half the kernels per decode step); other
    #: models, or False, run through the model's own modules with the same attention
    fused_layers: bool = True
    _newline: Any = attrs.field(default=None, init=False, repr=False)
    _device: Any = attrs.field(default=None, init=False, repr=False)
    _cache_kw: str = attrs.field(default="cache", init=False, repr=False)
    _shared: Any = attrs.field(default=None, init=False, repr=False)
    _steppers: dict = attrs.field(factory=dict, init=False, repr=False)
    _rows_forward: Any = attrs.field(default=None, init=False, repr=False)
    _auto_rows: dict = attrs.field(factory=dict, init=False, repr=False)
    #: where the time went (prefix reuse): seconds of shared prefills, row prefills, graph captures and
    #: decode steps, and how many of each; written to eval.json so a slow run shows its reason
    stats: dict = attrs.field(factory=lambda: dict.fromkeys(STAT_KEYS, 0), init=False, repr=False)

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

        with torch.inference_mode():
            if not self.prefix_reuse:
                predictions: list[str] = []
                for prefix in prefixes:
                    predictions += self._generate([ctx + prefix], None)
                return predictions
            return self._complete_shared([ctx + prefix for prefix in prefixes])

    # --- one shared prefix per file ---------------------------------------------------------------

    def _complete_shared(self, prompts: list[list[int]]) -> list[str]:
        predictions = [""] * len(prompts)  # an empty prompt has nothing to condition on
        live = [i for i, prompt in enumerate(prompts) if prompt]
        if not live:
            return predictions
        full, seen = shared_prompt([prompts[i] for i in live])
        shared = self._shared_kv()
        self.rows_forward()  # fused weights first, so an automatic batch size sees the memory they take
        began = self._clock()
        shared_length = shared.load(self._prefill(full[:-1])) if len(full) > 1 else 0
        self._count(began, "shared_prefill_s", files=1, shared_tokens=shared_length)
        assert max(seen) <= shared_length
        own = [prompts[i][k:] for i, k in zip(live, seen)]
        width = max(len(o) for o in own)
        step = self._batch_rows(len(live), width)
        for start in range(0, len(live), step):
            texts = self._decode_rows(own[start:start + step], seen[start:start + step], width)
            for i, text in zip(live[start:start + step], texts):
                predictions[i] = text
        return predictions

    def _shared_kv(self) -> Any:
        from lca_core.evaluation.shared_prefix import SharedKV

        if self._shared is None:
            self._shared = SharedKV(self.model, self.max_seq_len)
        return self._shared

    def _slots(self, width: int) -> int:
        """Row buffer slots for rows of up to ``width`` own tokens: a power of two, so few shapes serve all files."""
        needed = max(width, OWN_TOKENS) + self.max_new_tokens
        return 1 << (needed - 1).bit_length()

    def _batch_rows(self, lines: int, width: int) -> int:
        """Rows decoded together: ``batch_size``, or what free GPU memory allows (at most the lines there are)."""
        if self.batch_size:
            return self.batch_size
        if self._device.type != "cuda":
            return min(lines, CPU_AUTO_BATCH)
        import torch

        from lca_core.evaluation.shared_prefix import RowBuffers

        slots = self._slots(width)
        if slots not in self._auto_rows:  # measured once per shape: the decode graphs of a shape are kept
            free, _ = torch.cuda.mem_get_info(self._device)
            per_row = RowBuffers.bytes_per_row(self.model, slots, self.max_seq_len)
            fits = max(1, int(AUTO_BATCH_MEMORY_SHARE * free // per_row))
            self._auto_rows[slots] = 1 << (min(fits, MAX_AUTO_BATCH).bit_length() - 1)  # a power of two
        return max(1, min(lines, self._auto_rows[slots]))

    def rows_forward(self) -> Any:
        """The forward over row buffers: `FusedLlama` where the model qualifies (and ``fused_layers``), else
        the model's own modules (`shared_prefix.model_forward`)."""
        if self._rows_forward is None:
            from functools import partial

            from lca_core.evaluation.fused_llama import FusedLlama, unsupported
            from lca_core.evaluation.shared_prefix import model_forward

            fused = self.fused_layers and unsupported(self.model) is None
            self._rows_forward = FusedLlama(self.model).forward if fused else partial(model_forward, self.model)
        return self._rows_forward

    def _stepper(self, rows: int, slots: int) -> Any:
        """Row buffers and a decode step for ``rows`` (rounded up to a power of two) × ``slots``."""
        from lca_core.evaluation.shared_prefix import DecodeGraph, RowBuffers

        key = (1 << (rows - 1).bit_length(), slots)
        if key not in self._steppers:
            while len(self._steppers) >= MAX_STEPPERS:  # the oldest shape's buffers and graph go first
                self._steppers.pop(next(iter(self._steppers)))
            self._steppers[key] = DecodeGraph(self.rows_forward(), RowBuffers(self.model, key[0], slots, self._shared))
        return self._steppers[key]

    def _prefill_rows(self, stepper: Any, own: list[list[int]], seen: list[int]) -> Any:
        """Run each row's own tokens into its buffer slots 0..n-1, a few rows at a time (at most
        PREFILL_TOKENS tokens per forward); the logits after each row's last own token (rows × vocab)."""
        import torch

        buffers = stepper.rows
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        first = [None] * len(own)
        start = 0
        while start < len(own):
            end = start + 1
            while end < len(own) and (end + 1 - start) * max(len(o) for o in own[start:end + 1]) <= PREFILL_TOKENS:
                end += 1
            chunk = own[start:end]
            width = max(len(o) for o in chunk)
            ids = torch.tensor([o + [pad] * (width - len(o)) for o in chunk], device=self._device)
            slots = torch.arange(width, device=self._device).expand(len(chunk), -1)
            positions = torch.tensor(seen[start:end], device=self._device)[:, None] + slots
            ends = sorted({len(o) - 1 for o in chunk})  # logits only where a row's own tokens end
            buffers.active = torch.arange(start, end, device=self._device)[:, None]
            buffers.query_slot, buffers.prefill_seen = slots, seen[start:end]
            logits = stepper.forward(ids, positions, buffers, torch.tensor(ends, device=self._device))
            for row, tokens in enumerate(chunk):
                first[start + row] = logits[row, ends.index(len(tokens) - 1)]
            start = end
        return torch.stack(first)

    def _decode_rows(self, own: list[list[int]], seen: list[int], width: int) -> list[str]:
        """Greedy decoding of rows that see ``seen[b]`` shared positions and then their ``own[b]`` tokens."""
        import torch

        from lca_core.evaluation.shared_prefix import ATTENTION_NAME, attention_implementation

        stepper = self._stepper(len(own), self._slots(width))
        buffers = stepper.rows
        batch, real = buffers.rows, len(own)
        own = own + [own[0]] * (batch - len(own))  # padding rows repeat row 0; their results are dropped
        seen = seen + [seen[0]] * (batch - len(seen))
        lengths = torch.tensor([len(o) for o in own], device=self._device)
        base = torch.tensor(seen, device=self._device)
        buffers.shared_len.copy_(base)
        with attention_implementation(self.model, ATTENTION_NAME):
            began = self._clock()
            logits = self._prefill_rows(stepper, own, seen)
            began = self._count(began, "row_prefill_s", batches=1, rows=real)
            if self.cuda_graphs and self._device.type == "cuda" and stepper.graph is None:
                stepper.capture()
                began = self._count(began, "capture_s", captures=1)
            slot = lengths[:, None]

            def next_logits(token: Any) -> Any:
                nonlocal slot
                logits = stepper.step(token[:, None], base[:, None] + slot, slot)
                slot = slot + 1
                return logits

            texts = self._greedy(logits, next_logits)
            self._count(began, "decode_s")
            return texts[:real]

    def _clock(self) -> float:
        """Now, after the device's queued work (so each phase is charged its own GPU time)."""
        import torch

        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
        return time.perf_counter()

    def _count(self, began: float, key: str, **counts: int) -> float:
        now = self._clock()
        self.stats[key] += now - began
        for name, value in counts.items():
            self.stats[name] += value
        return now

    def _greedy(self, logits: Any, next_logits: Any) -> list[str]:
        """Greedy decoding from the rows' first ``logits`` (rows × vocab); ``next_logits(token)`` feeds one token
        per row and returns the next logits. Stops by the rules of the module docstring; each row's line."""
        import torch

        eos = self.tokenizer.eos_token_id
        done = torch.zeros(logits.shape[0], dtype=torch.bool, device=self._device)
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
            logits = next_logits(token)
            self.stats["decode_steps"] += 1
        tokens = torch.stack(steps, 1).cpu()
        keep = torch.stack(alive, 1).cpu()
        return [first_line(self.tokenizer.decode(tokens[b][keep[b]].tolist(), skip_special_tokens=True))
                for b in range(tokens.shape[0])]

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

    def _generate(self, rows: list[list[int]], kv: list[tuple[Any, Any]] | None) -> list[str]:
        """Greedy decoding of a batch of rows on top of ``kv`` (the shared context's cache, or None)."""
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
        attention = torch.cat([torch.ones((batch, past), dtype=torch.long, device=self._device), present.long()], 1)
        positions = past + (present.long().cumsum(1) - 1).clamp(min=0)
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

        def next_logits(token: Any) -> Any:
            nonlocal attention, position
            attention = torch.cat([attention, torch.ones((batch, 1), dtype=torch.long, device=self._device)], 1)
            position = position + 1
            return self.model(
                input_ids=token[:, None], attention_mask=attention, position_ids=position,
                **{self._cache_kw: cache}, use_cache=True,
            ).logits[:, -1]

        return self._greedy(logits, next_logits)
