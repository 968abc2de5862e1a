"""Harvesters: join the ordered chunks into the context string."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.api.components import param
from lca_core.composing.blocks import HarvesterBlock
from lca_core.composing.composers import Chunk, check_template


@attrs.define(kw_only=True)
class JoiningHarvester(HarvesterBlock):
    """Joins the chunks' contents with ``chunks_sep`` (no path comments)."""

    chunks_sep: str = param("\n\n", doc="Separator between chunks (default: the composer's chunks_sep).")

    def harvest(self, chunks: Sequence[Chunk], datapoint: dict) -> str:
        return self.chunks_sep.join([chunk.content for chunk in chunks])


@attrs.define(kw_only=True)
class PathCommentHarvester(JoiningHarvester):
    """Renders each chunk under its file's path comment, then joins them with ``chunks_sep``."""

    path_comment_template: str = param("# {filename}\n{content}",
                                       doc="Chunk rendering (default: the composer's path_comment_template).")

    def __attrs_post_init__(self) -> None:
        check_template("path_comment_template", self.path_comment_template, filename="a/b.py", content="x")

    def harvest(self, chunks: Sequence[Chunk], datapoint: dict) -> str:
        template = self.path_comment_template
        return self.chunks_sep.join(
            [template.format(filename=chunk.filename, content=chunk.content) for chunk in chunks]
        )
