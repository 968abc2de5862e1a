"""Chained-composer blocks: the seven stage base classes and the rule for which stage may follow which.

A chain turns the snapshot's files into a context string in stages (the newest original's design):

    file filters / file preprocessors -> chunker -> rankers -> sorters -> harvester -> context postprocessors
      (files in, files out)            (files->chunks)  (chunks in, chunks out)   (chunks->str)  (str->str)

A block is a `Component` of kind ``"block"`` registered with ``lca_register_blocks``; its parameters
are the keys of its table in the run file's ``composer.blocks`` list. Subclass one stage base and
implement its one method; ``apply`` (what the chain calls) is already written for each stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from lca_core.api.components import Component
from lca_core.composing.composers import Chunk, ContextPiece, File


@attrs.define(kw_only=True)
class BlockBase(Component):
    """Base of all blocks; ``stage`` names the stage, ``may_start``/``may_end`` and ``next_stages`` the order."""

    kind: ClassVar[str] = "block"
    stage: ClassVar[str] = "block"
    may_start: ClassVar[bool] = False
    may_end: ClassVar[bool] = False
    next_stages: ClassVar[tuple[str, ...]] = ()

    def apply(self, value: Any, datapoint: dict) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@attrs.define(kw_only=True)
class FileFilterBlock(BlockBase):
    """Keeps or drops whole files: implement ``keep(file, datapoint) -> bool``."""

    stage: ClassVar[str] = "file filter"
    may_start: ClassVar[bool] = True
    next_stages: ClassVar[tuple[str, ...]] = ("file filter", "file preprocessor", "chunker")

    def keep(self, file: File, datapoint: dict) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, files: Sequence[File], datapoint: dict) -> list[File]:
        return [file for file in files if self.keep(file, datapoint)]


@attrs.define(kw_only=True)
class FilePreprocessorBlock(BlockBase):
    """Rewrites each file's content: implement ``transform(file, datapoint) -> str``."""

    stage: ClassVar[str] = "file preprocessor"
    may_start: ClassVar[bool] = True
    next_stages: ClassVar[tuple[str, ...]] = ("file filter", "file preprocessor", "chunker")

    def transform(self, file: File, datapoint: dict) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, files: Sequence[File], datapoint: dict) -> list[File]:
        # A new File: the cached metadata (token counts, ...) describes the old content.
        return [File(file.filename, self.transform(file, datapoint)) for file in files]


@attrs.define(kw_only=True)
class ChunkerBlock(BlockBase):
    """Cuts files into chunks: implement ``chunk(file, datapoint) -> list[Chunk]``."""

    stage: ClassVar[str] = "chunker"
    may_start: ClassVar[bool] = True
    next_stages: ClassVar[tuple[str, ...]] = ("ranker", "harvester")

    def chunk(self, file: File, datapoint: dict) -> list[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, files: Sequence[File], datapoint: dict) -> list[Chunk]:
        return [chunk for file in files for chunk in self.chunk(file, datapoint)]


@attrs.define(kw_only=True)
class RankerBlock(BlockBase):
    """Appends one ranking key to every chunk: implement ``score(chunks, datapoint)`` (higher = nearer)."""

    stage: ClassVar[str] = "ranker"
    next_stages: ClassVar[tuple[str, ...]] = ("ranker", "sorter")

    def score(self, chunks: Sequence[Chunk], datapoint: dict) -> Sequence[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, chunks: Sequence[Chunk], datapoint: dict) -> Sequence[Chunk]:
        for chunk, key in zip(chunks, self.score(chunks, datapoint), strict=True):
            chunk.rank.append(key)
        return chunks


@attrs.define(kw_only=True)
class SorterBlock(BlockBase):
    """Orders the chunks by their ranking keys: implement ``sort(chunks, datapoint) -> list[Chunk]``."""

    stage: ClassVar[str] = "sorter"
    next_stages: ClassVar[tuple[str, ...]] = ("sorter", "harvester")

    def sort(self, chunks: Sequence[Chunk], datapoint: dict) -> list[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, chunks: Sequence[Chunk], datapoint: dict) -> list[Chunk]:
        return self.sort(chunks, datapoint)


@attrs.define(kw_only=True)
class HarvesterBlock(BlockBase):
    """Turns the ordered chunks into the context string: implement ``harvest(chunks, datapoint) -> str``."""

    stage: ClassVar[str] = "harvester"
    may_end: ClassVar[bool] = True
    next_stages: ClassVar[tuple[str, ...]] = ("context postprocessor",)

    def harvest(self, chunks: Sequence[Chunk], datapoint: dict) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def harvest_pieces(self, chunks: Sequence[Chunk], datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
        """The context and where each chunk landed in it; by default `harvest` with no pieces."""
        return self.harvest(chunks, datapoint), ()

    def apply(self, chunks: Sequence[Chunk], datapoint: dict) -> str:
        return self.harvest(chunks, datapoint)


@attrs.define(kw_only=True)
class ContextPostprocessorBlock(BlockBase):
    """Rewrites the finished context: implement ``process(context, datapoint) -> str``."""

    stage: ClassVar[str] = "context postprocessor"
    may_end: ClassVar[bool] = True
    next_stages: ClassVar[tuple[str, ...]] = ("context postprocessor",)

    def process(self, context: str, datapoint: dict) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, context: str, datapoint: dict) -> str:
        return self.process(context, datapoint)


STAGES = (FileFilterBlock, FilePreprocessorBlock, ChunkerBlock, RankerBlock, SorterBlock, HarvesterBlock,
          ContextPostprocessorBlock)


def order_problem(blocks: Sequence[BlockBase], names: Sequence[str]) -> tuple[int, str] | None:
    """The first violation of the legal stage order as (block index, message), or None.

    ``names`` are the blocks' registered names, used in the message.
    """
    if not blocks:
        return -1, "a chain needs at least one block (e.g. file_grained_chunker, then path_comment_harvester)"
    first = blocks[0]
    if not first.may_start:
        starters = ", ".join(s.stage + "s" for s in STAGES if s.may_start)
        return 0, f"'{names[0]}' is a {first.stage} and cannot start a chain (a chain starts with {starters})"
    for index in range(1, len(blocks)):
        before, block = blocks[index - 1], blocks[index]
        if block.stage not in before.next_stages:
            allowed = " or ".join(f"a {s}" for s in before.next_stages)
            return index, (f"'{names[index]}' is a {block.stage} and cannot follow '{names[index - 1]}', a "
                           f"{before.stage}; after a {before.stage} comes {allowed}")
    last = blocks[-1]
    if not last.may_end:
        return len(blocks) - 1, (f"'{names[-1]}' is a {last.stage} and cannot end a chain (a chain ends with a "
                                 "harvester or a context postprocessor that makes the context string)")
    return None


def run_chain(blocks: Sequence[BlockBase], files: list[File], datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
    """Pass ``files`` through the (order-checked) ``blocks``: the context string and where each chunk
    landed in it (no pieces once a context postprocessor has rewritten the text)."""
    value: Any = files
    pieces: tuple[ContextPiece, ...] = ()
    for block in blocks:
        if isinstance(block, HarvesterBlock):
            value, pieces = block.harvest_pieces(value, datapoint)
        else:
            value = block.apply(value, datapoint)
            pieces = () if isinstance(block, ContextPostprocessorBlock) else pieces
    return value, pieces
