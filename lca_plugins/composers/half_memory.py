"""``half_memory``: path-distance order with every context line dropped at random (seeded per datapoint)."""

from __future__ import annotations

import random

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.composing.composers import Chunk, datapoint_seed
from lca_plugins.composers.path_distance import PathDistanceComposer


@attrs.define(kw_only=True)
class HalfMemoryComposer(PathDistanceComposer):
    """The half-memory composer: path-distance order, each line of each file kept with probability 1−dropout.

    The draw depends only on (random_seed, datapoint, file), so a datapoint composes the same in
    every worker and epoch (the original's generator ran on across datapoints). Path comments are
    never dropped, unlike the original's whole-context postprocessor.
    """

    dropout: float = param(0.5, doc="Probability of dropping each line of a context file, in [0, 1].")
    random_seed: int = param(0, doc="Seed of the line draws (combined with the datapoint and file).")

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if not 0.0 <= self.dropout <= 1.0:
            raise ParamError("dropout", f"must be in [0, 1], got {self.dropout}")

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        chunks = super().chunk_datapoint(datapoint)
        for chunk in chunks:
            draw = random.Random(datapoint_seed(self.random_seed, datapoint, chunk.filename)).random
            chunk.content = "\n".join([line for line in chunk.content.split("\n") if draw() >= self.dropout])
        return chunks
