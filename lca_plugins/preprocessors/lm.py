"""``lm``: the original's V1 LMPreprocessor — a full window of context and completion, loss on its last tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from lca_core.api.components import param
from lca_core.composing.preprocessing import SampleLayout, check_context_tokens, check_ratio, context_budget
from lca_plugins.preprocessors.segmented import SegmentedPreprocessor


@attrs.define(kw_only=True)
class LMPreprocessor(SegmentedPreprocessor):
    """``[BOS] + prompt tail + context tail + completion head``, exactly max_seq_len + 1 tokens.

    Budgets, in this order: the prompt keeps at most max_seq_len + 1 − context_tokens tokens (BOS
    included, cut from the left); the completion its first max_seq_len + 1 − context_tokens −
    |BOS + prompt| tokens; the context fills the rest with its tail, so it gets at least
    context_tokens. The loss covers the last ceil(loss_ratio · max_seq_len) targets, whatever
    they are (the completion and, when it is short, the end of the context).
    """

    context_tokens: int | float = param(
        0.625, doc="The least tokens the context keeps: an integer, or a fraction of max_seq_len (int(L·c))."
    )
    loss_ratio: float = param(
        0.3125, doc="The loss covers the last ceil(loss_ratio · n) of the n valid targets (n = L unless padded; 1.0 = all)."
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        check_context_tokens(self.context_tokens, self.max_seq_len)
        check_ratio("loss_ratio", self.loss_ratio)

    def layouts(self, composed: list[Mapping[str, Any]]) -> list[SampleLayout]:
        window = self.max_seq_len + 1 - len(self.bos)
        ctx = context_budget(self.context_tokens, self.max_seq_len)
        segments = self.segments
        prompts = segments.tails([s["pre_context_prompt"] for s in composed], [window - ctx] * len(composed))
        completions = segments.heads(
            [s["composed_completion"] for s in composed], [window - ctx - len(p) for p in prompts]
        )
        contexts = segments.tails(
            [s["composed_context"] for s in composed],
            [window - len(p) - len(m) for p, m in zip(prompts, completions)],
        )
        return [
            self.finish(sample, prompt, context, completion, loss_ratio=self.loss_ratio, loss_on_completion=False)
            for sample, prompt, context, completion in zip(composed, prompts, contexts, completions)
        ]
