"""``file_level``: the completion file alone (with the prompt), no repository context — the baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from lca_core.api.components import param
from lca_core.composing.preprocessing import SampleLayout, check_ratio
from lca_plugins.preprocessors.completion_loss import completion_loss_layouts
from lca_plugins.preprocessors.segmented import SegmentedPreprocessor


@attrs.define(kw_only=True)
class FileLevelPreprocessor(SegmentedPreprocessor):
    """``[BOS] + prompt + completion[:m]``: the composer's context is ignored, whatever it holds.

    p = min(|prompt|, L), m = min(|completion|, L − p); loss and completion masks as in
    ``completion_loss``. Most files are shorter than L, hence padding on by default.
    """

    loss_ratio: float = param(1.0, doc="The loss covers the last ceil(loss_ratio · m) of the m completion targets.")
    padding: bool = param(True, doc="Right-pad short samples to the batch's longest (else: an error).")

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        check_ratio("loss_ratio", self.loss_ratio)

    def layouts(self, composed: list[Mapping[str, Any]]) -> list[SampleLayout]:
        return completion_loss_layouts(self, composed, 0, loss_ratio=self.loss_ratio, with_context=False, sep=[])
