"""Chunkers: turn files into the chunks that rankers score and harvesters join."""

from __future__ import annotations

import attrs

from lca_core.composing.blocks import ChunkerBlock
from lca_core.composing.composers import Chunk, File
from lca_plugins.composers.python_source import code_segments


@attrs.define(kw_only=True)
class FileGrainedChunker(ChunkerBlock):
    """One chunk per file, content unchanged (the completion file never reaches a chain)."""

    def chunk(self, file: File, datapoint: dict) -> list[Chunk]:
        return [Chunk(file.content, file)]


@attrs.define(kw_only=True)
class CodeSegmentGrainedChunker(ChunkerBlock):
    """A ``.py`` file becomes up to four chunks: its comments, docstrings, imports and code.

    Runs of comments spanning fewer than two lines are dropped (a dropped end-of-line comment
    leaves its line break); comment and docstring lines are stripped, every line right-stripped
    (the newest original's rules). Each chunk's ``metadata["segment_type"]`` names its kind. Other
    files stay whole (``segment_type`` "file").
    """

    def chunk(self, file: File, datapoint: dict) -> list[Chunk]:
        if not file.filename.endswith(".py"):
            return [Chunk(file.content, file, {"segment_type": "file"})]
        return [Chunk(text, file, {"segment_type": kind}) for kind, text in code_segments(file.content).items()]
