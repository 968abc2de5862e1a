"""``declarations_only``: Python files reduced to their class and function headers, by path distance."""

from __future__ import annotations

import attrs

from lca_core.composing.composers import Chunk
from lca_plugins.composers.path_distance import PathDistanceComposer
from lca_plugins.composers.python_source import declarations


@attrs.define(kw_only=True)
class DeclarationsOnlyComposer(PathDistanceComposer):
    """The ``nearest_declarations`` preset: ``.py`` files only, each reduced to its declarations.

    Every class and function header (nested ones too) is kept from its line start to the colon
    that opens its body, followed by ``" ..."``; files without declarations are left out.
    """

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        chunks = []
        for chunk in super().chunk_datapoint(datapoint):
            if chunk.filename.endswith(".py") and chunk.content.strip():
                chunk.content = declarations(chunk.content)
                if chunk.content:
                    chunks.append(chunk)
        return chunks
