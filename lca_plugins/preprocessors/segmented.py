"""What the built-in preprocessors share: pre-truncated segments, the completion's categories, length checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError, RunError
from lca_core.composing.preprocessing import PreprocessorBase, SampleLayout, Span, tail_count, token_categories
from lca_core.composing.pretruncation import Piece, SegmentTokenizer


@attrs.define(kw_only=True)
class SegmentedPreprocessor(PreprocessorBase):
    """A preprocessor that tokenizes prompt, context and completion separately, as the original did.

    Segments are tokenized without special tokens and joined as ``[BOS] + prompt + context +
    completion``; long texts are cut by characters before tokenizing (see `lca_core.composing.pretruncation`).
    """

    num_chars_per_token: float = param(
        6.0,
        doc="First guess of characters per token when cutting long texts before tokenizing; grows ×1.5 (the "
        "sample is redone) when a cut falls short, settles at 1.15× the ratio seen otherwise. The result is the "
        "same as tokenizing everything. 0 = never cut (slow).",
    )
    padding: bool = param(
        False, doc="Right-pad samples shorter than max_seq_len + 1 tokens to the batch's longest (else: an error)."
    )

    _segments: SegmentTokenizer | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.num_chars_per_token < 0:
            raise ParamError("num_chars_per_token", f"must be 0 (never cut) or positive, got {self.num_chars_per_token}")

    @property
    def pads(self) -> bool:
        return self.padding

    @property
    def segments(self) -> SegmentTokenizer:
        """The pre-truncating tokenizer; its chars-per-token estimate persists for this instance."""
        if self._segments is None:
            self._segments = SegmentTokenizer(self.tokenizer, self.num_chars_per_token)
        return self._segments

    @property
    def bos(self) -> list[int]:
        bos = self.tokenizer.bos_token_id
        return [] if bos is None else [bos]

    def finish(
        self,
        sample: Mapping[str, Any],
        prompt: Piece,
        context: Piece | None,
        completion: Piece,
        *,
        loss_ratio: float,
        loss_on_completion: bool,
        sep: list[int] = (),
    ) -> SampleLayout:
        """Assemble ``[BOS] + prompt + context (+ SEP) + completion`` and its masks; check the length.

        The loss covers the last ceil(loss_ratio·k) valid targets, k being the completion's kept
        tokens (``loss_on_completion``) or all valid targets.
        """
        spans = [Span("bos", self.bos), Span("prompt", prompt.ids, "pre_context_prompt", prompt.start, prompt.end)]
        if context is not None:
            spans.append(Span("context", context.ids, "composed_context", context.start, context.end))
        if sep:
            spans.append(Span("sep", list(sep)))
        spans.append(Span("completion", completion.ids, "composed_completion", completion.start, completion.end))
        length = sum(len(span.ids) for span in spans)
        if length < self.max_seq_len + 1 and not self.padding:
            raise RunError(
                f"{describe(sample)} gives {length} tokens, fewer than max_seq_len + 1 = {self.max_seq_len + 1}, "
                f"and [preprocessor] padding is false; set padding = true, lower max_seq_len, or use a composer "
                "that gives more context"
            )
        n_targets = length - 1
        text = sample["composed_completion"]
        categories = token_categories(text, completion.offsets(), sample.get("completion_lines") or {})
        return SampleLayout(
            spans=spans,
            loss_tokens=tail_count(loss_ratio, len(completion) if loss_on_completion else n_targets),
            completion_tokens=len(completion),
            completion_categories=categories,
        )


def describe(sample: Mapping[str, Any]) -> str:
    """How an error names a composed sample: its completion's first line (the path comment) and prompt."""
    first_line = str(sample.get("composed_completion", "")).split("\n", 1)[0][:80]
    prompt = str(sample.get("pre_context_prompt", "")).strip()[:80]
    return f"the sample with prompt {prompt!r} and completion starting {first_line!r}"
