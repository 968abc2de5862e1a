"""Context postprocessors: rewrite the finished context string line by line."""

from __future__ import annotations

import random

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.composing.blocks import ContextPostprocessorBlock
from lca_core.composing.composers import datapoint_seed


@attrs.define(kw_only=True)
class PartialMemoryPostprocessor(ContextPostprocessorBlock):
    """Drops each context line with probability ``dropout`` (path comments included, as in the original).

    The draws are fixed per (random_seed, datapoint), so every worker and epoch agree.
    """

    dropout: float = param(0.5, doc="Probability of dropping each line, in [0, 1].")
    random_seed: int = param(0, doc="Seed of the draws (combined with the datapoint).")

    def __attrs_post_init__(self) -> None:
        if not 0.0 <= self.dropout <= 1.0:
            raise ParamError("dropout", f"must be in [0, 1], got {self.dropout}")

    def process(self, context: str, datapoint: dict) -> str:
        draw = random.Random(datapoint_seed(self.random_seed, datapoint)).random
        return "\n".join([line for line in context.split("\n") if draw() >= self.dropout])


@attrs.define(kw_only=True)
class LineLengthPostprocessor(ContextPostprocessorBlock):
    """Keeps the lines of ``min_len`` to ``max_len`` characters (both included)."""

    min_len: int = param(10, doc="Shortest line kept.")
    max_len: int = param(200, doc="Longest line kept.")

    def __attrs_post_init__(self) -> None:
        if self.min_len > self.max_len:
            raise ParamError("max_len", f"must be ≥ min_len ({self.min_len}), got {self.max_len}")

    def process(self, context: str, datapoint: dict) -> str:
        return "\n".join([line for line in context.split("\n") if self.min_len <= len(line) <= self.max_len])


@attrs.define(kw_only=True)
class LineStripPostprocessor(ContextPostprocessorBlock):
    """Strips leading and trailing whitespace from every line."""

    def process(self, context: str, datapoint: dict) -> str:
        return "\n".join([line.strip() for line in context.split("\n")])


@attrs.define(kw_only=True)
class InverseFrequencyMemoryPostprocessor(ContextPostprocessorBlock):
    """Returns the context unchanged: the original registered this name but never implemented it."""

    def process(self, context: str, datapoint: dict) -> str:
        return context
