"""PreprocessorBase: composed samples in, token tensors out (ids, targets, masks, line categories).

A preprocessor turns what a composer produced (``pre_context_prompt``, ``composed_context``,
``composed_completion``, ``completion_lines``) into a batch of tensors, all B×L and aligned with the
targets: ``input_ids``, ``target_ids``, ``loss_mask``, ``category_ids`` and, where they apply,
``completion_mask`` and ``attention_mask``. Built-ins describe each sample as a `SampleLayout`
(which tokens came from which text), so the tensors and ``lca-run compose`` share one truth.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from lca_core.api.components import Component, Runtime, param
from lca_core.api.errors import ParamError, RunError
from lca_core.data.schema import CATEGORY_IDS
from lca_core.data.schema import UNDEFINED_CATEGORY_ID as NO_CATEGORY



@attrs.define
class Span:
    """A run of tokens in the sequence and the characters ``[start, end)`` of the text it came from."""

    name: str  # bos, prompt, context, sep, completion
    ids: list[int]
    source: str = ""  # key of the composed sample the text came from; "" for special tokens
    start: int = 0
    end: int = 0


@attrs.define
class SampleLayout:
    """One sample as the model sees it: its spans in order, and what the loss covers.

    ``loss_tokens`` and ``completion_tokens`` count valid targets from the end of the sequence;
    ``completion_categories`` holds the line category of every kept completion token.
    """

    spans: list[Span]
    loss_tokens: int
    completion_tokens: int
    completion_categories: list[int]

    @property
    def ids(self) -> list[int]:
        return [token for span in self.spans for token in span.ids]

    def span(self, name: str) -> Span | None:
        return next((s for s in self.spans if s.name == name), None)


@attrs.define(kw_only=True)
class PreprocessorBase(Component):
    """Turns a batch of composed samples into tensors; the tokenizer arrives in `setup`.

    Subclasses implement `layout` (one composed sample -> `SampleLayout`, or a batch through
    `layouts`) and say whether they pad; `__call__` builds the tensors. A preprocessor that needs
    no layout may override `__call__` alone, keeping the output contract.
    """

    kind: ClassVar[str] = "preprocessor"

    max_seq_len: int = param(16384, doc="Tokens the model sees per sample (input length L; targets are shifted by one).")

    _tokenizer: Any = attrs.field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_seq_len < 1:
            raise ParamError("max_seq_len", f"must be at least 1, got {self.max_seq_len}")

    def setup(self, runtime: Runtime) -> None:
        if runtime.tokenizer is None:
            raise RunError(f"the '{type(self).__name__}' preprocessor needs a tokenizer, and the runtime has none")
        self._tokenizer = runtime.tokenizer

    @property
    def pads(self) -> bool:
        """Whether samples may be shorter than the batch (the output then has an attention_mask)."""
        return False

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            raise RunError(f"{type(self).__name__} was used before setup(runtime) gave it a tokenizer")
        return self._tokenizer

    def layouts(self, composed: list[Mapping[str, Any]]) -> list[SampleLayout]:
        """The layout of every sample of a batch; override to tokenize the batch at once."""
        return [self.layout(sample) for sample in composed]

    def layout(self, sample: Mapping[str, Any]) -> SampleLayout:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, composed: list[Mapping[str, Any]]) -> dict[str, Any]:
        return to_tensors(self.layouts(composed), pad_id=self.pad_id, with_attention_mask=self.pads)

    @property
    def pad_id(self) -> int:
        tokenizer = self.tokenizer
        for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id):
            if token_id is not None:
                return token_id
        return 0


def context_budget(context_tokens: int | float, max_seq_len: int) -> int:
    """``context_tokens`` in tokens: an int as is, a float as a fraction of max_seq_len (int(L·c))."""
    if isinstance(context_tokens, float):
        return int(max_seq_len * context_tokens)
    return context_tokens


def check_context_tokens(context_tokens: int | float, max_seq_len: int) -> None:
    """The cross-field check every preprocessor with a context budget runs in __attrs_post_init__."""
    if isinstance(context_tokens, float) and not 0.0 <= context_tokens <= 1.0:
        raise ParamError("context_tokens", f"a fraction must lie in [0, 1], got {context_tokens}")
    if not 0 <= context_budget(context_tokens, max_seq_len) <= max_seq_len:
        raise ParamError(
            "context_tokens", f"must lie in [0, max_seq_len = {max_seq_len}], got {context_tokens}"
        )


def check_ratio(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ParamError(key, f"must lie in [0, 1], got {value}")


def tail_count(ratio: float, n: int) -> int:
    """ceil(ratio·n) tokens, computed so that 1.0·n is n even with float noise."""
    return min(n, math.ceil(round(ratio * n, 9)))


def line_categories(completion_lines: Mapping[str, Any], n_lines: int) -> list[int]:
    """Category id of every line of the composed completion (NO_CATEGORY for unlabelled lines)."""
    out = [NO_CATEGORY] * n_lines
    for name, indices in completion_lines.items():
        category = CATEGORY_IDS.get(name)
        if category is None or not indices:
            continue
        for index in indices:
            if 0 <= index < n_lines:
                out[index] = category
    return out


def token_categories(text: str, offsets: list[tuple[int, int]], completion_lines: Mapping[str, Any]) -> list[int]:
    """The category of the line each token starts in (a newline belongs to the line it ends).

    The original walked tokens one line step at a time, so a token holding several newlines made
    every later token lag a line; looking up each token's start character cannot drift.
    """
    if not offsets:
        return []
    end = offsets[-1][1]
    newlines = []
    position = text.find("\n", 0, end)
    while position != -1:
        newlines.append(position)
        position = text.find("\n", position + 1, end)
    categories = line_categories(completion_lines, len(newlines) + 1)
    return [categories[bisect.bisect_left(newlines, start)] for start, _ in offsets]


def to_tensors(layouts: list[SampleLayout], *, pad_id: int, with_attention_mask: bool) -> dict[str, Any]:
    """Stack layouts into the output contract: B×L tensors, right-padded to the longest sample."""
    import torch

    sequences = [layout.ids for layout in layouts]
    width = max(len(seq) for seq in sequences) - 1
    batch = len(sequences)
    tokens = torch.full((batch, width + 1), pad_id, dtype=torch.long)
    valid = torch.zeros((batch, width + 1), dtype=torch.bool)
    loss_mask = torch.zeros((batch, width), dtype=torch.bool)
    completion_mask = torch.zeros((batch, width), dtype=torch.bool)
    category_ids = torch.full((batch, width), NO_CATEGORY, dtype=torch.long)
    for row, (layout, seq) in enumerate(zip(layouts, sequences)):
        tokens[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        valid[row, : len(seq)] = True
        n = len(seq) - 1  # valid targets; explicit ranges below, never a [-k:] slice with k = 0
        loss_mask[row, n - layout.loss_tokens : n] = True
        m = layout.completion_tokens
        completion_mask[row, n - m : n] = True
        if m:
            category_ids[row, n - m : n] = torch.tensor(layout.completion_categories, dtype=torch.long)
    out = {
        "input_ids": tokens[:, :-1].contiguous(),
        "target_ids": tokens[:, 1:].contiguous(),
        "loss_mask": loss_mask,
        "completion_mask": completion_mask,
        "category_ids": category_ids,
    }
    if with_attention_mask:
        out["attention_mask"] = valid[:, :-1].contiguous()
    return out
