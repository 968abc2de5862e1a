"""Rankers: append one key per chunk to its ``rank`` list; a sorter then orders by those lists."""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs

from lca_core.api.components import param
from lca_core.composing.blocks import RankerBlock
from lca_core.composing.composers import Chunk, datapoint_seed
from lca_plugins.composers.features import completion_prefix, iou, line_set, path_distance
from lca_plugins.composers.python_source import count_calls


@attrs.define(kw_only=True)
class NegativePathDistanceRanker(RankerBlock):
    """Minus the directory hops from the chunk's file to the completion file (nearest = highest)."""

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> list[int]:
        target = datapoint["completion_file"]["filename"]
        return [-path_distance(chunk.filename, target) for chunk in chunks]


@attrs.define(kw_only=True)
class FunctionCallRanker(RankerBlock):
    """The number of call expressions in a ``.py`` chunk (0 for other files), per character if relative."""

    is_relative: bool = param(False, doc="Divide the count by the chunk's length in characters.")

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> list[float]:
        out = []
        for chunk in chunks:
            calls = count_calls(chunk.content) if chunk.filename.endswith(".py") else 0
            out.append(calls / max(len(chunk.content), 1) if self.is_relative else calls)
        return out


@attrs.define(kw_only=True)
class FileExtensionRanker(RankerBlock):
    """The index of the group holding the chunk's file suffix, −1 when unlisted: later groups sit nearer."""

    ordered_groups: list[list[str]] = param(
        factory=lambda: [[".json"], [".yaml", ".yml"], [".sh"], [".md", ".txt", ".rst"]],
        doc="Groups of suffixes such as \".md\", from farthest to nearest the completion.",
    )

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> list[int]:
        weights = {ext: index for index, group in enumerate(self.ordered_groups) for ext in group}
        return [weights.get("." + chunk.filename.rsplit(".", 1)[-1], -1) for chunk in chunks]


@attrs.define(kw_only=True)
class RandomRanker(RankerBlock):
    """A random permutation, fixed per (random_seed, datapoint) so every worker and epoch agree."""

    random_seed: int = param(0, doc="Seed of the permutation (combined with the datapoint).")

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> list[int]:
        ranks = list(range(len(chunks)))
        random.Random(datapoint_seed(self.random_seed, datapoint)).shuffle(ranks)
        return ranks


@attrs.define(kw_only=True)
class LinesIoURanker(RankerBlock):
    """Intersection over union of the chunk's stripped lines with the completion file's prefix.

    The prefix ends at the first line labelled with one of ``prefix_categories``; lines shorter
    than ``min_line_len`` once stripped do not count (the follow-up paper's Lines IoU).
    """

    min_line_len: int = param(5, doc="Shortest stripped line that counts.")
    prefix_categories: list[str] = param(factory=lambda: ["inproject", "infile"],
                                         doc="Categories whose first labelled line ends the prefix.")

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> list[float]:
        query = line_set(completion_prefix(datapoint, self.prefix_categories), self.min_line_len)
        return [iou(line_set(chunk.content, self.min_line_len), query) for chunk in chunks]
