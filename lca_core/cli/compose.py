"""``lca-run compose RUN.toml [--index N] [--html FILE]``: a datapoint's context as the model will see it.

Composes and preprocesses one datapoint with the run's composer, preprocessor and tokenizer, then
shows which files or chunks made it into the window, in which order, how many tokens each took,
where truncation cut, and the completion's lines coloured by category (ANSI colours on a terminal;
a self-contained HTML page with ``--html``).
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from typing import Any

import attrs

from lca_core.api.errors import RunError
from lca_core.cli.common import add_run_file, load
from lca_core.data.schema import CATEGORY_NAMES as SCHEMA_CATEGORY_NAMES
from lca_core.data.schema import UNDEFINED_CATEGORY_ID

DEFAULT_TEMPLATE = "# {filename}\n{content}"
CATEGORY_NAMES = {**SCHEMA_CATEGORY_NAMES, UNDEFINED_CATEGORY_ID: ""}  # unlabelled lines show no label
ANSI = {0: "35", 1: "36", 2: "32", 3: "1;33", 4: "2", 5: "34", 6: "34"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_file(parser)
    parser.add_argument("--index", type=int, default=0, metavar="N", help="datapoint index (default 0)")
    parser.add_argument("--html", metavar="FILE", default="", help="also write a self-contained HTML page")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="terminal colours (auto: only on a terminal)")
    parser.add_argument("--all-chunks", action="store_true", help="list the dropped chunks too")


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


def run(args: argparse.Namespace) -> int:
    view = build_view(args)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(render_text(view, color=color, all_chunks=args.all_chunks))
    if args.html:
        from lca_core.cli.compose_html import render_html

        with open(args.html, "w", encoding="utf-8") as handle:
            handle.write(render_html(view))
        print(f"\nHTML page written to {args.html}")
    return 0


def build_view(args: argparse.Namespace) -> View:
    from lca_core.api.components import Runtime
    from lca_core.data.loading import load_datapoints
    from lca_core.models.loading import load_tokenizer

    config = load(args)
    dataset = load_datapoints(config)
    if not 0 <= args.index < len(dataset):
        raise RunError(f"--index {args.index} is out of range: {config.data.path} has {len(dataset)} datapoints "
                       f"(0 to {len(dataset) - 1})")
    tokenizer = load_tokenizer(config)
    runtime = Runtime(seed=config.run.seed, tokenizer=tokenizer, config=config)
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
    template = getattr(composer, "path_comment_template", DEFAULT_TEMPLATE)
    post = getattr(composer, "post_context_prompt", "")
    chunks = find_chunks(context, datapoint["repo_snapshot"]["filename"], template, post)
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


def find_chunks(context: str, filenames: list[str], template: str, post: str) -> list[Chunk]:
    """Split the composed context at the path-comment headers of snapshot files, in context order."""
    head = template.split("{content}")[0]
    prefix, _, suffix = head.partition("{filename}")
    known = set(filenames)
    starts: list[tuple[int, str]] = []
    if "{filename}" in head and prefix:
        pattern = re.compile("^" + re.escape(prefix) + "(.+?)" + re.escape(suffix), re.MULTILINE)
        starts = [(m.start(), m.group(1)) for m in pattern.finditer(context) if m.group(1) in known]
    body_end = len(context) - len(post) if post and context.endswith(post) else len(context)
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, "(text before the first file header)" if starts else "(context)"))
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


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color and code else text


def render_text(view: View, *, color: bool, all_chunks: bool = False) -> str:
    dp = view.datapoint
    t = view.tokens
    out = [
        f"datapoint {view.index} of {view.total}: {dp['repo']} @ {dp['commit_hash'][:10]} · "
        f"completion file {dp['completion_file']['filename']}",
        f"composer {view.composer} · preprocessor {view.preprocessor} "
        + " ".join(f"{k}={v}" for k, v in view.params.items()),
        "sequence: " + " + ".join(f"{name} {count}" for name, count in t.items()) + f" = {sum(t.values())} tokens",
        f"loss on the last {view.loss_tokens} targets; the completion holds {t.get('completion', 0)}",
        "",
    ]
    kept = [c for c in view.chunks if c.status != "dropped"]
    dropped = [c for c in view.chunks if c.status == "dropped"]
    context_len = len(view.composed["composed_context"])
    out.append(f"context: {len(view.chunks)} chunks, {len(kept)} in the window "
               f"({sum(c.status == 'cut' for c in kept)} cut), {len(dropped)} dropped; "
               f"truncation cut at character {view.cut:,} of {context_len:,}")
    out.append(f"  {'#':>4}  {'status':<8} {'tokens':>7} {'chars':>9}  chunk (farthest first, nearest last)")
    for chunk in view.chunks if all_chunks else kept:
        mark = {"cut": "1;31", "kept": "", "dropped": "2"}[chunk.status]
        row = f"  {chunk.position:>4}  {chunk.status:<8} {chunk.tokens:>7} {chunk.end - chunk.start:>9,}  {chunk.name}"
        out.append(_paint(row, mark, color))
    if dropped and not all_chunks:
        names = ", ".join(c.name for c in dropped[-3:])
        out.append(f"  ... {len(dropped)} dropped before the cut (nearest of them: {names}; --all-chunks lists all)")
    lines, kept = view.completion_lines()
    out += ["", f"completion ({t.get('completion', 0)} tokens: lines 0–{kept - 1} of {len(lines)} are seen; "
                "lines by category):"]
    legend = " ".join(_paint(name, ANSI[i], color) for i, name in CATEGORY_NAMES.items() if i >= 0)
    out.append(f"  legend: {legend}")
    for number, line, category in lines[:kept]:
        out.append(_paint(f"  {number:>4}   {CATEGORY_NAMES[category]:<15} {line}", ANSI.get(category, ""), color))
    if kept < len(lines):
        out.append(f"  ✂ lines {kept}–{len(lines) - 1} ({len(lines) - kept} lines) are beyond max_seq_len: "
                   "the model does not see them")
    return "\n".join(out)
