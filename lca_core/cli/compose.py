"""``lca-run compose RUN.toml [--index N] [--html FILE]``: a datapoint's context as the model will see it.

Composes and preprocesses one datapoint with the run's composer, preprocessor and tokenizer, then
shows which files or chunks made it into the window, in which order, how many tokens each took,
where truncation cut, and the completion's lines coloured by category (ANSI colours on a terminal;
a self-contained HTML page with ``--html``).
"""

from __future__ import annotations

import argparse
import sys

from lca_core.cli.common import add_run_file
from lca_core.cli.compose_view import CATEGORY_NAMES, View, build_view

ANSI = {0: "35", 1: "36", 2: "32", 3: "1;33", 4: "2", 5: "34", 6: "34"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_file(parser)
    parser.add_argument("--index", type=int, default=0, metavar="N", help="datapoint index (default 0)")
    parser.add_argument("--html", metavar="FILE", default="", help="also write a self-contained HTML page")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="terminal colours (auto: only on a terminal)")
    parser.add_argument("--all-chunks", action="store_true", help="list the dropped chunks too")


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
