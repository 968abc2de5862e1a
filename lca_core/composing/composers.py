"""Composer base classes: turn an LCA datapoint into a context, a completion and its line categories.

A composer's job ends at text: ``compose(datapoint)`` returns a `Composed`: the pre-context prompt
(the repository name), the composed context (snapshot files or chunks, best last, then the
post-context prompt), the completion file rendered with the path-comment template, the completion
line categories shifted by that template, and where each chunk sits in the context. Tokenizing and
truncating is the preprocessor's job.

`ComposerBase` needs only `compose_context`; `GrainedComposer` builds the context from chunks
(one per snapshot file by default); `RankingComposer` orders the chunks by a ranking function,
ascending, so the best chunk sits nearest the completion and survives left truncation.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from lca_core.api.components import Component, param
from lca_core.api.errors import ParamError


@attrs.define(slots=True)
class File:
    """A repository file on its way through a composer; ``metadata`` holds per-file caches."""

    filename: str
    content: str
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(slots=True)
class Chunk:
    """A piece of a file that may enter the context; ``rank`` collects ranking keys (primary first)."""

    content: str
    file: File
    metadata: dict[str, Any] = attrs.field(factory=dict)
    rank: list[Any] = attrs.field(factory=list)

    @property
    def filename(self) -> str:
        return self.file.filename


@attrs.frozen
class ContextPiece:
    """One chunk as it sits in the composed context: a name (its file) and characters ``[start, end)``."""

    name: str
    start: int
    end: int


#: The four keys of a composed sample, the original's dict.
COMPOSED_KEYS = ("pre_context_prompt", "composed_context", "composed_completion", "completion_lines")


@attrs.define(eq=False)
class Composed(Mapping):
    """What a composer returns. It reads as the original's dict of `COMPOSED_KEYS`
    (``composed["composed_context"]``), so preprocessors, ``datasets.map`` and plugins written
    against the dict keep working; ``chunks`` adds where each chunk landed, in context order (empty
    when the composer cannot say, e.g. after a postprocessor rewrote the text)."""

    pre_context_prompt: str
    composed_context: str
    composed_completion: str
    completion_lines: dict[str, list[int]]
    chunks: tuple[ContextPiece, ...] = ()

    def __getitem__(self, key: str) -> Any:
        if key not in COMPOSED_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(COMPOSED_KEYS)

    def __len__(self) -> int:
        return len(COMPOSED_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """The original's plain dict (no chunks)."""
        return {key: getattr(self, key) for key in COMPOSED_KEYS}


def join_pieces(named_texts: Sequence[tuple[str, str]], sep: str) -> tuple[str, tuple[ContextPiece, ...]]:
    """``sep.join`` of the texts, and where each one landed."""
    pieces, position = [], 0
    for name, text in named_texts:
        pieces.append(ContextPiece(name, position, position + len(text)))
        position += len(text) + len(sep)
    return sep.join(text for _, text in named_texts), tuple(pieces)


def chunk_name(chunk: Chunk) -> str:
    """How a chunk is named where it is shown: its file, and its segment kind when it has one."""
    kind = chunk.metadata.get("segment_type")
    return f"{chunk.filename} [{kind}]" if kind and kind != "file" else chunk.filename


def normalize_path(path: str) -> str:
    """Repository paths compared as the original did: ``normpath`` with ``/`` separators."""
    return posixpath.normpath(path.replace("\\", "/"))


def is_completion_file(filename: str, content: str, datapoint: dict) -> bool:
    """True when a snapshot file is the completion file itself (same path) or a byte-identical copy."""
    target = datapoint["completion_file"]
    if normalize_path(filename) == normalize_path(target["filename"]):
        return True
    own = target["content"]
    return bool(own.strip()) and len(content) == len(own) and content == own


def snapshot_files(datapoint: dict) -> list[File]:
    """The snapshot's files in snapshot order, without the completion file (leak-freedom starts here)."""
    snapshot = datapoint["repo_snapshot"]
    return [
        File(filename, content)
        for filename, content in zip(snapshot["filename"], snapshot["content"])
        if not is_completion_file(filename, content, datapoint)
    ]


def datapoint_seed(seed: int, datapoint: dict, *extra: str) -> int:
    """A seed fixed by (seed, datapoint, extra): the same output in every worker and epoch."""
    key = "\0".join([str(seed), datapoint.get("repo", ""), datapoint.get("commit_hash", ""),
                     datapoint["completion_file"]["filename"], *extra])
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def recalculate_random(completion_lines: dict[str, list[int]], content: str) -> dict[str, list[int]]:
    """The newest original's recompute: ``random`` = every line index of the file in no other category."""
    taken: set[int] = set()
    for category, lines in completion_lines.items():
        if category != "random":
            taken.update(lines)
    out = dict(completion_lines)
    out["random"] = [i for i in range(content.count("\n") + 1) if i not in taken]
    return out


def check_template(key: str, template: str, **fields: Any) -> None:
    """Raise `ParamError` for ``key`` unless ``template`` formats with exactly these fields."""
    try:
        template.format(*fields.values(), **fields)
    except (KeyError, IndexError, ValueError) as exc:
        names = ", ".join("{" + name + "}" for name in fields)
        raise ParamError(key, f"{template!r} is not a valid template ({type(exc).__name__}: {exc}); "
                              f"it may use {names} and doubled braces {{{{ }}}} for literal ones") from None


@attrs.define(kw_only=True)
class ComposerBase(Component):
    """Base of every composer: implement `compose_context`; the rest is the original's framing.

    ``compose`` never mutates the datapoint it is given (the original shifted ``completion_lines``
    in place); it returns new lists.
    """

    kind: ClassVar[str] = "composer"

    pre_context_prompt: str = param("# {}\n", doc="Text before the context; {} (or {repo}) is the repository name.")
    post_context_prompt: str = param("\n\n", doc="Text between the context and the completion file.")
    path_comment_template: str = param(
        "# {filename}\n{content}",
        doc="How a file is rendered, in the context and for the completion; must contain {content} once.",
    )
    chunks_sep: str = param("\n\n", doc="Separator between rendered chunks in the context.")
    recalculate_random_category: bool = param(
        True,
        doc="Recompute `random` as every completion line in no other category (the newest original; "
            "false keeps the dataset's sampled `random` lines).",
    )
    _content_line: int = attrs.field(default=0, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_template("pre_context_prompt", self.pre_context_prompt, repo="owner__name")
        check_template("path_comment_template", self.path_comment_template, filename="a/b.py", content="x")
        if self.path_comment_template.count("{content}") != 1:
            raise ParamError("path_comment_template",
                             f"must contain {{content}} exactly once, got {self.path_comment_template!r}")
        # Filenames hold no newline, so the line holding {content} is fixed by the template alone.
        self._content_line = self.path_comment_template.split("{content}")[0].count("\n")

    # --- what subclasses implement ---------------------------------------------------------------

    def compose_context(self, datapoint: dict) -> str:  # pragma: no cover - abstract
        """The context placed between the pre- and post-context prompts (best material last)."""
        raise NotImplementedError(f"{type(self).__name__} must implement compose_context")

    def compose_context_pieces(self, datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
        """The context and where each chunk sits in it; by default `compose_context` with no pieces."""
        return self.compose_context(datapoint), ()

    # --- the framing ------------------------------------------------------------------------------

    def render_file(self, filename: str, content: str) -> str:
        """A file (or chunk) under its path comment, as the context and the completion show it."""
        return self.path_comment_template.format(filename=filename, content=content)

    def get_pre_context_prompt(self, datapoint: dict) -> str:
        repo = datapoint["repo"]
        return self.pre_context_prompt.format(repo, repo=repo)

    def compose_completion(self, datapoint: dict) -> str:
        """The whole completion file under its path comment, ending with a newline (instead of EOS)."""
        target = datapoint["completion_file"]
        completion = self.render_file(target["filename"], target["content"])
        return completion if completion.endswith("\n") else completion + "\n"

    def completion_lines(self, datapoint: dict) -> dict[str, list[int]]:
        """Line indices per category, into the composed completion (shifted by the template)."""
        lines = {category: [int(i) for i in indices] for category, indices in datapoint["completion_lines"].items()}
        if self.recalculate_random_category:
            lines = recalculate_random(lines, datapoint["completion_file"]["content"])
        offset = self._content_line
        return {category: [i + offset for i in indices] for category, indices in lines.items()}

    def compose(self, datapoint: dict) -> Composed:
        """The composed sample: prompt, context (with its chunks' places), completion, line categories."""
        context, pieces = self.compose_context_pieces(datapoint)
        return Composed(
            pre_context_prompt=self.get_pre_context_prompt(datapoint),
            composed_context=context + self.post_context_prompt,
            composed_completion=self.compose_completion(datapoint),
            completion_lines=self.completion_lines(datapoint),
            chunks=pieces,
        )

    def compose_batch(self, batch: dict[str, list]) -> list[Composed]:
        """Compose a batch given as columns (what ``datasets`` hands a transform)."""
        keys = list(batch)
        return [self.compose(dict(zip(keys, row))) for row in zip(*(batch[k] for k in keys))]


@attrs.define(kw_only=True)
class GrainedComposer(ComposerBase):
    """A context built from chunks: `chunk_datapoint` cuts, `combine_chunks` renders and joins.

    The default chunks are the snapshot's files (the completion file left out), one chunk each.
    """

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        return [Chunk(file.content, file) for file in snapshot_files(datapoint)]

    def ordered_chunks(self, datapoint: dict) -> list[Chunk]:
        """The chunks in context order, farthest first."""
        return self.chunk_datapoint(datapoint)

    def combine_chunks(self, chunks: Sequence[Chunk]) -> str:
        render = self.render_file
        return self.chunks_sep.join([render(chunk.filename, chunk.content) for chunk in chunks])

    def compose_context(self, datapoint: dict) -> str:
        return self.combine_chunks(self.ordered_chunks(datapoint))

    def compose_context_pieces(self, datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
        own = type(self)
        if own.compose_context is not GrainedComposer.compose_context or \
                own.combine_chunks is not GrainedComposer.combine_chunks:
            return super().compose_context_pieces(datapoint)  # a subclass renders its own way
        chunks = self.ordered_chunks(datapoint)
        return join_pieces([(chunk_name(c), self.render_file(c.filename, c.content)) for c in chunks], self.chunks_sep)


@attrs.define(kw_only=True)
class RankingComposer(GrainedComposer):
    """Chunks in ascending order of `ranking_function` (a stable sort): the best chunk comes last.

    The context is cut from the left, so the chunk nearest the completion is the one that survives.
    Override `rank_chunks` instead when a rank depends on all chunks at once (e.g. BM25).
    """

    def ranking_function(self, chunk: Chunk, datapoint: dict) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement ranking_function or rank_chunks")

    def rank_chunks(self, chunks: Sequence[Chunk], datapoint: dict) -> list[Any]:
        """One comparable key per chunk; higher is better (nearer the completion)."""
        return [self.ranking_function(chunk, datapoint) for chunk in chunks]

    def ordered_chunks(self, datapoint: dict) -> list[Chunk]:
        chunks = self.chunk_datapoint(datapoint)
        keys = self.rank_chunks(chunks, datapoint)
        if len(keys) != len(chunks) or any(key is None for key in keys):  # e.g. a `...` body left in place
            raise TypeError(f"{type(self).__name__}: ranking_function/rank_chunks must give one comparable key per "
                            f"chunk (higher = nearer the completion), got {len(keys)} keys for {len(chunks)} chunks"
                            f"{' and None among them' if any(key is None for key in keys) else ''}")
        order = sorted(range(len(chunks)), key=keys.__getitem__)  # sorted() is stable
        return [chunks[i] for i in order]
