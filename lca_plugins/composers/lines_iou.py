"""``lines_iou``: files ranked by the overlap of their lines with the completion file's prefix."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.api.components import param
from lca_core.composing.composers import Chunk, RankingComposer
from lca_plugins.composers.features import (
    completion_prefix,
    has_extension,
    iou,
    line_set,
    path_distance,
)


@attrs.define(kw_only=True)
class LinesIoUComposer(RankingComposer):
    """The follow-up paper's best composer: rank by intersection over union of stripped line sets.

    Lines count when they have at least ``min_line_len`` characters once stripped. The query is
    the completion file above its first line labelled with one of ``prefix_categories``, so the
    ranking never sees a line the model is scored on. Ties (e.g. an empty prefix) fall back to path
    distance, nearest last.
    """

    extensions: list[str] = param(factory=lambda: [".py"], doc="File suffixes ranked (empty list: every file).")
    min_line_len: int = param(5, doc="Shortest stripped line that counts.")
    prefix_categories: list[str] = param(
        factory=lambda: ["inproject", "infile"],
        doc="Line categories whose first labelled line ends the query prefix (any category if none is labelled).",
    )

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        return [c for c in super().chunk_datapoint(datapoint) if has_extension(c.filename, self.extensions)]

    def rank_chunks(self, chunks: Sequence[Chunk], datapoint: dict) -> list[tuple[float, int]]:
        query = line_set(completion_prefix(datapoint, self.prefix_categories), self.min_line_len)
        target = datapoint["completion_file"]["filename"]
        return [
            (iou(line_set(chunk.content, self.min_line_len), query), -path_distance(chunk.filename, target))
            for chunk in chunks
        ]
