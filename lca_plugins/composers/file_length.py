"""``file_length``: snapshot files from the longest to the shortest (shortest nearest the completion)."""

from __future__ import annotations

import attrs

from lca_core.composing.composers import Chunk, RankingComposer


@attrs.define(kw_only=True)
class FileLengthComposer(RankingComposer):
    """lca-baselines' file-length composer: longest file first; equal lengths keep snapshot order.

    Short files sit nearest the completion, so left truncation keeps many of them.
    """

    def ranking_function(self, chunk: Chunk, datapoint: dict) -> int:
        return -len(chunk.content)
