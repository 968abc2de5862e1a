"""``alphabetical``: snapshot files sorted by path, the alphabetically last nearest the completion."""

from __future__ import annotations

import attrs

from lca_core.composing.composers import Chunk, RankingComposer


@attrs.define(kw_only=True)
class AlphabeticalComposer(RankingComposer):
    """lca-baselines' alphabetical composer: files in ascending path order (Unicode code points)."""

    def ranking_function(self, chunk: Chunk, datapoint: dict) -> str:
        return chunk.filename
