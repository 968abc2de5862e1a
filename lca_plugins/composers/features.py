"""Cheap text features the built-in composers and blocks rank by: path distance, line sets, the prefix.

Pure functions of strings, shared by the composers (``lca_plugins.composers``) and the chained
composer's blocks (``lca_plugins.blocks``) so that both mean exactly the same thing.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Sequence

from lca_core.composing.composers import normalize_path


def path_distance(path_from: str, path_to: str) -> int:
    """Directory hops between two files: 0 in the same folder, 1 for a sibling folder's file, ...

    The original's definition: split the normalized paths on ``/``, count the common leading
    segments c, and add the segments left over on each side minus the file name itself.
    """
    a = normalize_path(path_from).split("/")
    b = normalize_path(path_to).split("/")
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    return (len(a) - common - 1) + (len(b) - common - 1)


def has_extension(filename: str, extensions: Sequence[str]) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (an empty list accepts every file)."""
    return not extensions or filename.endswith(tuple(extensions))


def line_set(text: str, min_len: int = 5) -> set[str]:
    """The distinct stripped lines of ``text`` with at least ``min_len`` characters."""
    return {s for s in (line.strip() for line in text.split("\n")) if len(s) >= min_len}


def iou(a: set, b: set) -> float:
    """Intersection over union of two sets (0 when both are empty)."""
    if not a or not b:
        return 0.0
    inter = len(a & b) if len(a) < len(b) else len(b & a)
    return inter / (len(a) + len(b) - inter)


def completion_point(datapoint: dict, categories: Sequence[str]) -> int:
    """The first completion line labelled with one of ``categories`` (any category if none is).

    Everything above it is known at every line a model is scored on, so ranking by it cannot leak
    a scored line. Returns 0 when no line is labelled (the prefix is then empty).
    """
    lines = datapoint["completion_lines"]
    for group in (categories, list(lines)):
        labelled = [int(i) for category in group for i in lines.get(category, [])]
        if labelled:
            return min(labelled)
    return 0


def completion_prefix(datapoint: dict, categories: Sequence[str], max_lines: int = 0) -> str:
    """The completion file above its `completion_point`; only the last ``max_lines`` when > 0."""
    lines = datapoint["completion_file"]["content"].split("\n")[: completion_point(datapoint, categories)]
    if max_lines > 0:
        lines = lines[-max_lines:]
    return "\n".join(lines)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBWORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOPWORDS = frozenset(word.lower() for word in keyword.kwlist)


@functools.lru_cache(maxsize=1 << 16)
def _identifier_tokens(ident: str) -> tuple[str, ...]:
    lower = ident.lower()
    if lower in _STOPWORDS:
        return ()
    parts = _SUBWORD.findall(ident)
    return (lower, *(p.lower() for p in parts)) if len(parts) > 1 else (lower,)


def code_tokens(text: str) -> list[str]:
    """Lexical tokens for retrieval: identifiers (not Python keywords), plus their snake/camel-case parts, lower-cased."""
    # Identifiers repeat a lot within a repository: the per-identifier split is memoized.
    return [token for ident in _IDENTIFIER.findall(text) for token in _identifier_tokens(ident)]


def line_windows(content: str, size: int) -> list[str]:
    """``content`` cut into consecutive windows of ``size`` lines (blank windows dropped)."""
    lines = content.split("\n")
    windows = ("\n".join(lines[i:i + size]) for i in range(0, len(lines), size))
    return [w for w in windows if w.strip()]
