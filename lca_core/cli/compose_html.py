"""The self-contained HTML page of ``lca-run compose --html``: chunks, the cut, the completion by category."""

from __future__ import annotations

from html import escape
from typing import Any

from lca_core.cli.compose_view import CATEGORY_NAMES, View

COLORS = {0: "#c678dd", 1: "#2aa1b3", 2: "#3a9d23", 3: "#d19a00", 4: "#9a9a9a", 5: "#4f7fd6", 6: "#4f7fd6"}

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.dropped { color: #aaa; } tr.cut { background: #ffe9e9; font-weight: bold; }
pre { background: #fafafa; border: 1px solid #ddd; padding: 8px; white-space: pre-wrap; word-break: break-all; margin: 0; }
.span-label { font-size: 12px; color: #555; margin: 6px 0 2px; }
.chunk-head { background: #e8f0fe; display: block; }
.cutmark { background: #ffd6d6; color: #a00; display: block; text-align: center; padding: 2px; }
.line { display: block; border-left: 4px solid transparent; padding-left: 4px; }
.line .no { color: #999; display: inline-block; width: 3.5em; }
.line .cat { display: inline-block; width: 10em; font-size: 12px; white-space: nowrap; }
.beyond { opacity: 0.35; text-decoration: line-through; }
.legend span { padding: 1px 6px; margin-right: 4px; border-radius: 3px; color: #fff; }
"""


def render_html(view: View) -> str:
    dp = view.datapoint
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>compose: {escape(dp['repo'])} {escape(dp['completion_file']['filename'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Datapoint {view.index} of {view.total}: {escape(dp['repo'])} · {escape(dp['completion_file']['filename'])}</h1>",
        _summary(view),
        "<h2>Chunks, farthest first (the nearest sits next to the completion)</h2>",
        _chunk_table(view),
        "<h2>The sequence as the model sees it</h2>",
        _sequence(view),
        "</body></html>",
    ]
    return "\n".join(parts)


def _summary(view: View) -> str:
    t = view.tokens
    rows = [
        ("commit", view.datapoint["commit_hash"]),
        ("composer", view.composer),
        ("preprocessor", view.preprocessor + " " + ", ".join(f"{k}={v}" for k, v in view.params.items())),
        ("tokens", " + ".join(f"{name} {count}" for name, count in t.items()) + f" = {sum(t.values())}"),
        ("loss", f"the last {view.loss_tokens} targets (the completion holds {t.get('completion', 0)})"),
        ("truncation", f"context cut at character {view.cut:,} of {len(view.composed['composed_context']):,}"),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _chunk_table(view: View) -> str:
    dropped = [chunk for chunk in view.chunks if chunk.status == "dropped"]
    kept = [chunk for chunk in view.chunks if chunk.status != "dropped"]
    out = _table(kept)
    if dropped:
        out = (f"<details><summary>{len(dropped)} chunks dropped by truncation (farther than the cut)</summary>"
               f"{_table(dropped)}</details>" + out)
    return out


def _table(chunks: list) -> str:
    rows = ["<tr><th>#</th><th>status</th><th>tokens</th><th>chars</th><th>chunk</th></tr>"]
    for chunk in chunks:
        rows.append(
            f"<tr class='{chunk.status}'><td class='num'>{chunk.position}</td><td>{chunk.status}</td>"
            f"<td class='num'>{chunk.tokens}</td><td class='num'>{chunk.end - chunk.start:,}</td>"
            f"<td>{escape(chunk.name)}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _sequence(view: View) -> str:
    composed = view.composed
    prompt = view.layout.span("prompt")
    out = []
    if prompt is not None:
        out.append(f"<div class='span-label'>BOS + prompt ({len(prompt.ids)} tokens)</div>")
        out.append(f"<pre>{escape(composed['pre_context_prompt'][prompt.start:prompt.end])}</pre>")
    if view.layout.span("context") is not None:
        out.append(f"<div class='span-label'>context ({view.tokens.get('context', 0)} tokens)</div>")
        out.append("<pre>" + _context(view) + "</pre>")
    if view.layout.span("sep") is not None:
        out.append("<div class='span-label'>SEP token</div>")
    lines, kept = view.completion_lines()
    out.append(f"<div class='span-label'>completion ({view.tokens.get('completion', 0)} tokens: lines 0–{kept - 1} "
               f"of {len(lines)} are seen), lines by category</div>")
    out.append(_legend())
    out.append("<pre>" + _completion(view) + "</pre>")
    return "\n".join(out)


def _context(view: View) -> str:
    context = view.composed["composed_context"]
    pieces = []
    if view.cut > 0:
        pieces.append(f"<span class='cutmark'>✂ {view.cut:,} characters cut here "
                      f"({sum(c.status == 'dropped' for c in view.chunks)} chunks dropped)</span>")
    for chunk in view.chunks:
        if chunk.status == "dropped":
            continue
        start = max(chunk.start, view.cut)
        label = f"{chunk.name} · {chunk.tokens} tokens" + (" · cut" if chunk.status == "cut" else "")
        pieces.append(f"<span class='chunk-head' title='{escape(label)}'>▶ {escape(label)}</span>")
        pieces.append(escape(context[start:chunk.end]))
    return "".join(pieces)


def _legend() -> str:
    spans = "".join(f"<span style='background:{COLORS[i]}'>{name}</span>"
                    for i, name in CATEGORY_NAMES.items() if i >= 0)
    return f"<div class='legend'>{spans} <span style='background:#ccc;color:#555'>✂ beyond max_seq_len</span></div>"


def _completion(view: View) -> str:
    """The seen lines; the lines beyond max_seq_len (blank ones too) folded under one marker."""
    lines, kept = view.completion_lines()
    out = [_line(number, line, category) for number, line, category in lines[:kept]]
    if kept < len(lines):
        beyond = "".join(_line(number, line, category, beyond=True) for number, line, category in lines[kept:])
        out.append(f"<details><summary class='cutmark'>✂ lines {kept}–{len(lines) - 1} ({len(lines) - kept} lines) "
                   f"are beyond max_seq_len: the model does not see them</summary>{beyond}</details>")
    return "".join(out)


def _line(number: int, line: str, category: int, *, beyond: bool = False) -> str:
    color: Any = COLORS.get(category)
    style = f" style='border-left-color:{color};color:{color}'" if color else ""
    return (f"<span class='line{' beyond' if beyond else ''}'{style}><span class='no'>{number}</span>"
            f"<span class='cat'>{CATEGORY_NAMES[category]}</span>{escape(line)}</span>")
