"""``completion_loss``: the newest original's default — loss on the completion only, padded batches, optional SEP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from lca_core.api.components import Runtime, param
from lca_core.composing.preprocessing import SampleLayout, check_context_tokens, check_ratio, context_budget
from lca_plugins.preprocessors.segmented import SegmentedPreprocessor

SEP_TOKEN = "<|SEP|>"


@attrs.define(kw_only=True)
class CompletionLossPreprocessor(SegmentedPreprocessor):
    """``[BOS] + prompt[-p:] + context[-c:] + completion[:m]``, at most max_seq_len + 1 tokens.

    With L = max_seq_len and ctx = context_tokens: if the context has at least ctx tokens,
    p = min(|prompt|, L − ctx), m = min(|completion|, L − ctx − p) and the context fills the rest;
    otherwise all of the context is kept and the prompt, then the completion, take what is left.
    The loss covers the last ceil(loss_ratio · m) targets (the completion's tail), ``completion_mask``
    all m completion targets. Short samples are right-padded to the batch's longest when ``padding``.
    """

    context_tokens: int | float = param(
        0.5, doc="Tokens reserved for the context when it has them: an integer, or a fraction of max_seq_len."
    )
    loss_ratio: float = param(1.0, doc="The loss covers the last ceil(loss_ratio · m) of the m completion targets.")
    use_sep_token: bool = param(
        False, doc=f"End the context with a SEP token (the tokenizer's, else {SEP_TOKEN} is added to it)."
    )
    padding: bool = param(True, doc="Right-pad short samples to the batch's longest (else: an error).")

    _sep_id: int | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        check_context_tokens(self.context_tokens, self.max_seq_len)
        check_ratio("loss_ratio", self.loss_ratio)

    def setup(self, runtime: Runtime) -> None:
        super().setup(runtime)
        if self.use_sep_token:
            tokenizer = self.tokenizer
            if tokenizer.sep_token_id is None:
                # The model's embedding matrix must have a row for it (the trainer resizes when it has not).
                tokenizer.add_special_tokens({"sep_token": SEP_TOKEN})
            self._sep_id = tokenizer.sep_token_id

    def layouts(self, composed: list[Mapping[str, Any]]) -> list[SampleLayout]:
        return completion_loss_layouts(
            self, composed, context_budget(self.context_tokens, self.max_seq_len), loss_ratio=self.loss_ratio,
            with_context=True, sep=[self._sep_id] if self.use_sep_token else [],
        )


def completion_loss_layouts(
    pre: SegmentedPreprocessor,
    composed: list[Mapping[str, Any]],
    ctx: int,
    *,
    loss_ratio: float,
    with_context: bool,
    sep: list[int],
) -> list[SampleLayout]:
    """The newest original's length rules, for a batch (``with_context=False``: file level)."""
    room = pre.max_seq_len + 1 - len(pre.bos)
    segments = pre.segments
    prompts = segments.tails([s["pre_context_prompt"] for s in composed], [room] * len(composed))
    # Enough completion for both cases below: a short context can only leave it more room.
    completions = segments.heads(
        [s["composed_completion"] for s in composed], [room - min(len(p), room - ctx) for p in prompts]
    )
    sizes = []
    for prompt, completion in zip(prompts, completions):
        p = min(len(prompt), room - ctx)
        m = min(len(completion), room - ctx - p)
        sizes.append((p, m, room - p - m if with_context else 0))
    contexts = segments.tails([s["composed_context"] for s in composed], [c for _, _, c in sizes])
    layouts = []
    for sample, prompt, context, completion, (p, m, _) in zip(composed, prompts, contexts, completions, sizes):
        c = len(context)
        if with_context and c < ctx:  # a short context: all of it, and the rest to prompt and completion
            p = min(len(prompt), room - c)
            m = min(len(completion), room - p - c)
        use_sep = bool(sep) and c > 0
        layouts.append(
            pre.finish(
                sample,
                prompt.last(p),
                context.last(c - 1 if use_sep else c) if with_context else None,
                completion.first(m),
                loss_ratio=loss_ratio,
                loss_on_completion=True,
                sep=sep if use_sep else [],
            )
        )
    return layouts
