"""``bm25``: code windows retrieved by BM25 against the code just before the completion point."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.composing.composers import Chunk, RankingComposer
from lca_plugins.composers.features import (
    code_tokens,
    completion_prefix,
    has_extension,
    line_windows,
    path_distance,
)


@attrs.define(kw_only=True)
class BM25Composer(RankingComposer):
    """The CrossCodeEval/RepoCoder lexical baseline: BM25 over fixed line windows of the snapshot.

    Every file with a listed suffix is cut into windows of ``chunk_lines`` lines; each window is
    scored (the ``bm25s`` library, Lucene variant) against the last ``query_lines`` lines above the
    completion point (the first line labelled with one of ``prefix_categories``). Tokens are
    identifiers and their snake/camel-case parts, lower-cased. The best window sits nearest the
    completion; ties (e.g. an empty query) fall back to path distance.
    """

    chunk_lines: int = param(20, doc="Lines per retrieved window.")
    query_lines: int = param(20, doc="Lines of the completion prefix used as the query (its tail).")
    extensions: list[str] = param(factory=lambda: [".py"], doc="File suffixes retrieved from (empty list: every file).")
    prefix_categories: list[str] = param(
        factory=lambda: ["inproject", "infile"],
        doc="Line categories whose first labelled line is the completion point (any category if none is labelled).",
    )
    k1: float = param(1.5, doc="BM25 term-frequency saturation.")
    b: float = param(0.75, doc="BM25 length normalisation, in [0, 1].")

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for key in ("chunk_lines", "query_lines"):
            if getattr(self, key) < 1:
                raise ParamError(key, f"must be ≥ 1, got {getattr(self, key)}")
        if not 0.0 <= self.b <= 1.0:
            raise ParamError("b", f"must be in [0, 1], got {self.b}")

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        return [
            Chunk(window, chunk.file)
            for chunk in super().chunk_datapoint(datapoint)
            if has_extension(chunk.filename, self.extensions)
            for window in line_windows(chunk.content, self.chunk_lines)
        ]

    def rank_chunks(self, chunks: Sequence[Chunk], datapoint: dict) -> list[tuple[float, int]]:
        target = datapoint["completion_file"]["filename"]
        distances = [-path_distance(chunk.filename, target) for chunk in chunks]
        query = code_tokens(completion_prefix(datapoint, self.prefix_categories, self.query_lines))
        scores = self._scores([code_tokens(chunk.content) for chunk in chunks], query)
        return list(zip(scores, distances))

    def _scores(self, corpus: list[list[str]], query: list[str]) -> list[float]:
        if not corpus or not query:
            return [0.0] * len(corpus)
        import bm25s  # heavy (numpy, scipy): imported only when a run composes

        # bm25s precomputes a score for every (document, vocabulary token) pair. Only the query's
        # tokens are ever looked up, so every other token becomes one placeholder: document lengths,
        # and so every query token's score, stay exactly the same at a fraction of the cost.
        wanted = set(query)
        placeholder = "\0"
        reduced = [[token if token in wanted else placeholder for token in doc] for doc in corpus]
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index(reduced, show_progress=False)
        known = [token for token in query if token in retriever.vocab_dict]
        if not known:
            return [0.0] * len(corpus)
        return [float(s) for s in retriever.get_scores(known)]
