"""``identifier_overlap``: files that share the most identifiers with the completion file go nearest it."""

from __future__ import annotations

import re

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.composing.composers import Chunk, RankingComposer

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifiers(text: str, min_length: int) -> set[str]:
    return {word for word in _IDENTIFIER.findall(text) if len(word) >= min_length}


@attrs.define(kw_only=True)
class IdentifierOverlapComposer(RankingComposer):
    """Rank snapshot files by how many distinct identifiers they share with the completion file.

    A cheap, tokenizer-free stand-in for lexical retrieval: a file defining or using the names the
    completion file uses is likely to help complete it. Ties keep snapshot order; with ``max_files``
    only the best files enter the context at all.
    """

    min_identifier_length: int = param(3, doc="Ignore identifiers shorter than this (i, x, df ...).")
    max_files: int = param(0, doc="Keep only the best N files (0 = all; the preprocessor truncates anyway).")

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.min_identifier_length < 1:
            raise ParamError("min_identifier_length", f"must be ≥ 1, got {self.min_identifier_length}")
        if self.max_files < 0:
            raise ParamError("max_files", f"must be ≥ 0, got {self.max_files}")

    def rank_chunks(self, chunks, datapoint):
        wanted = identifiers(datapoint["completion_file"]["content"], self.min_identifier_length)
        return [len(wanted & identifiers(chunk.content, self.min_identifier_length)) for chunk in chunks]

    def combine_chunks(self, chunks: list[Chunk]) -> str:
        if self.max_files:
            chunks = list(chunks)[-self.max_files:]
        return super().combine_chunks(chunks)
