"""Harvesters: join the ordered chunks into the context string."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.api.components import param
from lca_core.composing.blocks import HarvesterBlock
from lca_core.composing.composers import Chunk, ContextPiece, check_template, chunk_name, join_pieces


@attrs.define(kw_only=True)
class JoiningHarvester(HarvesterBlock):
    """Joins the chunks' contents with ``chunks_sep`` (no path comments)."""

    chunks_sep: str = param("\n\n", doc="Separator between chunks (default: the composer's chunks_sep).")

    def render(self, chunk: Chunk) -> str:
        return chunk.content

    def harvest(self, chunks: Sequence[Chunk], datapoint: dict) -> str:
        return self.chunks_sep.join([self.render(chunk) for chunk in chunks])

    def harvest_pieces(self, chunks: Sequence[Chunk], datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
        if type(self).harvest is not JoiningHarvester.harvest:  # a subclass joins its own way
            return super().harvest_pieces(chunks, datapoint)
        return join_pieces([(chunk_name(chunk), self.render(chunk)) for chunk in chunks], self.chunks_sep)


@attrs.define(kw_only=True)
class PathCommentHarvester(JoiningHarvester):
    """Renders each chunk under its file's path comment, then joins them with ``chunks_sep``."""

    path_comment_template: str = param("# {filename}\n{content}",
                                       doc="Chunk rendering (default: the composer's path_comment_template).")

    def __attrs_post_init__(self) -> None:
        check_template("path_comment_template", self.path_comment_template, filename="a/b.py", content="x")

    def render(self, chunk: Chunk) -> str:
        return self.path_comment_template.format(filename=chunk.filename, content=chunk.content)
