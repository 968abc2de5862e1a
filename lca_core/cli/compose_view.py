"""What ``lca-run compose`` shows, computed once for both renderings (terminal and HTML): the
datapoint's chunks in context order, where truncation cut, token counts and line categories."""

from __future__ import annotations

import argparse
import bisect
from collections.abc import Sequence
from typing import Any

import attrs

from lca_core.api.errors import RunError
from lca_core.cli.common import load
from lca_core.data.schema import CATEGORY_NAMES as SCHEMA_CATEGORY_NAMES
from lca_core.data.schema import UNDEFINED_CATEGORY_ID

CATEGORY_NAMES = {**SCHEMA_CATEGORY_NAMES, UNDEFINED_CATEGORY_ID: ""}  # unlabelled lines show no label


@attrs.define
class Chunk:
    """A piece of the composed context: one file's rendering (or text before the first header)."""

    position: int  # order in the context, 0 = farthest from the completion
    name: str
    start: int
    end: int
    tokens: int = 0
    kept_chars: int = 0

    @property
    def status(self) -> str:
        if self.kept_chars == 0:
            return "dropped"
        return "kept" if self.kept_chars == self.end - self.start else "cut"


@attrs.define
class View:
    """Everything the terminal and HTML renderings show."""

    index: int
    total: int
    datapoint: dict
    composer: str
    preprocessor: str
    params: dict
    composed: dict
    layout: Any
    chunks: list[Chunk]
    cut: int  # first kept character of the composed context
    completion_end: int  # characters of the composed completion that were kept
    tokens: dict[str, int]
    loss_tokens: int
    line_categories: list[int]

    def completion_lines(self) -> tuple[list[tuple[int, str, int]], int]:
        """((number, text, category) of every completion line, how many of them the model sees). A line counts
        as seen when it starts before the cut; every line after it — blank ones too — is beyond max_seq_len."""
        lines, kept, position = [], 0, 0
        for number, line in enumerate(self.composed["composed_completion"].split("\n")):
            category = self.line_categories[number] if number < len(self.line_categories) else -1
            lines.append((number, line, category))
            if position < self.completion_end:
                kept = number + 1
            position += len(line) + 1
        return lines, kept


def build_view(args: argparse.Namespace) -> View:
    from lca_core.api.components import make_runtime
    from lca_core.data.loading import load_datapoints
    from lca_core.models.loading import load_tokenizer

    config = load(args)
    dataset = load_datapoints(config)
    if not 0 <= args.index < len(dataset):
        raise RunError(f"--index {args.index} is out of range: {config.data.path} has {len(dataset)} datapoints "
                       f"(0 to {len(dataset) - 1})")
    tokenizer = load_tokenizer(config)
    runtime = make_runtime(config, tokenizer)
    composer = config.composer.build(runtime)
    preprocessor = config.preprocessor.build(runtime)
    if not hasattr(preprocessor, "layouts"):
        raise RunError(f"preprocessor '{config.preprocessor.name}' describes no layout, so compose cannot show it")
    datapoint = dataset[args.index]
    composed = composer.compose(datapoint)
    layout = preprocessor.layouts([composed])[0]

    context = composed["composed_context"]
    context_span = layout.span("context")
    cut = context_span.start if context_span is not None and context_span.ids else len(context)
    post = getattr(composer, "post_context_prompt", "")
    chunks = context_chunks(context, getattr(composed, "chunks", ()), post)
    count_tokens(chunks, context, cut, tokenizer)
    completion_span = layout.span("completion")
    n_lines = composed["composed_completion"].count("\n") + 1
    from lca_core.composing.preprocessing import line_categories

    return View(
        index=args.index, total=len(dataset), datapoint=datapoint,
        composer=config.composer.name, preprocessor=config.preprocessor.name, params=config.preprocessor.params,
        composed=composed, layout=layout, chunks=chunks, cut=cut,
        completion_end=completion_span.end if completion_span is not None else 0,
        tokens={span.name: len(span.ids) for span in layout.spans},
        loss_tokens=layout.loss_tokens,
        line_categories=line_categories(composed.get("completion_lines") or {}, n_lines),
    )


def context_chunks(context: str, pieces: Sequence[Any], post: str) -> list[Chunk]:
    """The context's chunks in order, where the composer put them (`Composed.chunks`). A chunk runs to
    the next one's start, so a separator counts for the chunk before it; the post-context prompt is a
    row of its own; a composer that reports no chunks shows its context as one."""
    body_end = len(context) - len(post) if post and context.endswith(post) else len(context)
    starts = [(piece.start, piece.name) for piece in pieces if piece.start < body_end]
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, "(text before the first chunk)" if starts else "(context)"))
    chunks = []
    for position, (start, name) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else body_end
        chunks.append(Chunk(position, name, start, end))
    if body_end < len(context):
        chunks.append(Chunk(len(chunks), "(post-context prompt)", body_end, len(context)))
    return [chunk for chunk in chunks if chunk.end > chunk.start]


def count_tokens(chunks: list[Chunk], context: str, cut: int, tokenizer: Any) -> None:
    """Kept characters and tokens of every chunk (a token counts for the chunk it starts in)."""
    kept = tokenizer.backend_tokenizer.encode(context[cut:], add_special_tokens=False)
    starts = [chunk.start for chunk in chunks]
    for chunk in chunks:
        chunk.kept_chars = max(0, chunk.end - max(chunk.start, cut))
    for start, _ in kept.offsets:
        index = bisect.bisect_right(starts, cut + start) - 1
        if index >= 0:
            chunks[index].tokens += 1
