"""Sorters: order the ranked chunks; the chunk that ends last sits nearest the completion."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lca_core.composing.blocks import SorterBlock
from lca_core.composing.composers import Chunk


@attrs.define(kw_only=True)
class LexicographicSorter(SorterBlock):
    """Stable ascending sort by the rank lists: the first ranker decides, later ones break ties."""

    def sort(self, chunks: Sequence[Chunk], datapoint: dict) -> list[Chunk]:
        return sorted(chunks, key=lambda chunk: chunk.rank)


@attrs.define(kw_only=True)
class MixedSorter(SorterBlock):
    """Round-robin over the rankers: the best chunk by ranker 1, then by ranker 2, ...; best last.

    The original's unregistered helper, without its mutation of the rank lists.
    """

    def sort(self, chunks: Sequence[Chunk], datapoint: dict) -> list[Chunk]:
        if not chunks:
            return []
        num_rankers = len(chunks[0].rank)
        if num_rankers == 0:
            return list(chunks)
        # Per ranker, chunk indices best first (stable: ties keep the earlier chunk, as max() did).
        queues = [sorted(range(len(chunks)), key=lambda i, r=r: chunks[i].rank[r], reverse=True)
                  for r in range(num_rankers)]
        positions = [0] * num_rankers
        taken = [False] * len(chunks)
        picked: list[Chunk] = []
        for step in range(len(chunks)):
            r = step % num_rankers
            queue = queues[r]
            while taken[queue[positions[r]]]:
                positions[r] += 1
            index = queue[positions[r]]
            taken[index] = True
            picked.append(chunks[index])
        return picked[::-1]
