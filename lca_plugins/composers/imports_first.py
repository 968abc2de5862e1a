"""``imports_first``: the files the completion file imports placed nearest the completion."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.composing.composers import Chunk, RankingComposer
from lca_plugins.composers.features import path_distance
from lca_plugins.composers.python_source import imported_modules, is_imported


@attrs.define(kw_only=True)
class ImportsFirstComposer(RankingComposer):
    """lca-baselines' imports-first composer: imported files last, everything else before them.

    The imports are read from the whole completion file (imports are known before any line is
    completed); relative imports are resolved against the file's package, and a snapshot file
    matches a module also under a source prefix (``src/pkg/mod.py`` is ``pkg.mod``). Within each
    group, files keep path-distance order (nearest last) instead of the original's snapshot order.
    """

    def rank_chunks(self, chunks: Sequence[Chunk], datapoint: dict) -> list[tuple[bool, int]]:
        target = datapoint["completion_file"]
        modules = imported_modules(target["content"], target["filename"])
        return [
            (is_imported(chunk.filename, modules), -path_distance(chunk.filename, target["filename"]))
            for chunk in chunks
        ]
