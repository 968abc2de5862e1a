"""``path_distance``: snapshot files ordered by directory hops from the completion file, nearest last."""

from __future__ import annotations

import attrs

from lca_core.composing.composers import Chunk, RankingComposer
from lca_plugins.composers.features import path_distance


@attrs.define(kw_only=True)
class PathDistanceComposer(RankingComposer):
    """The original's V1 composer: every snapshot file, farthest first, the completion file's neighbours last.

    Distance is the number of directory hops between two paths (0 in the same folder); ties keep
    snapshot order. The completion file itself never enters the context.
    """

    def ranking_function(self, chunk: Chunk, datapoint: dict) -> int:
        return -path_distance(chunk.filename, datapoint["completion_file"]["filename"])
