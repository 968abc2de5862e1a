"""Python source analysis with the standard library (``ast``, ``tokenize``) instead of tree-sitter.

Declarations, imports, call counts and code segments of a Python file. Snapshot files are not
always valid Python 3 (Python 2 files, templates), so every function degrades gracefully: the
token-based ones tolerate most broken code, and the ``ast`` ones fall back to a line scan.
"""

from __future__ import annotations

import ast
import hashlib
import io
import keyword
import re
import tokenize
from collections.abc import Iterator

_DEF_LINE = re.compile(r"^\s*(?:async\s+def|def|class)\s+\w")
_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None"}


def _tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """Tokens of ``source``; stops quietly where the tokenizer gives up.

    An inconsistent dedent, common in chunks cut out of a file, does not stop it: tokenizing goes
    on from that line (positions stay those of ``source``), as tree-sitter's recovery would.
    """
    lines = source.splitlines(keepends=True)
    first = 0  # the line this run of the tokenizer starts at
    while first < len(lines):
        try:
            for tok in tokenize.generate_tokens(iter(lines[first:]).__next__ if first else io.StringIO(source).readline):
                if first:
                    tok = tok._replace(start=(tok.start[0] + first, tok.start[1]), end=(tok.end[0] + first, tok.end[1]))
                yield tok
            return
        except IndentationError as error:
            first += max((error.lineno or 1) - 1, 1)
        except (tokenize.TokenError, SyntaxError):
            return


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


_DECLARATIONS_CACHE: dict[bytes, str] = {}
_CACHE_LIMIT = 50_000


def declarations(source: str) -> str:
    """Every class and function header of ``source``, nested ones too, in source order.

    Each header runs from the start of its line to the colon that opens its body, followed by
    ``" ..."``; headers are joined by newlines (the original's declaration-only preprocessor).
    Parsing costs about 1 s per MB, and the same files recur in every datapoint of a repository
    and every epoch, so results are cached per process by a digest of the source.
    """
    key = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    found = _DECLARATIONS_CACHE.get(key)
    if found is None:
        if len(_DECLARATIONS_CACHE) >= _CACHE_LIMIT:
            _DECLARATIONS_CACHE.clear()
        found = _DECLARATIONS_CACHE[key] = _declarations(source)
    return found


def _declarations(source: str) -> str:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "\n".join(
            line.rstrip() + (" ..." if line.rstrip().endswith(":") else "")
            for line in source.split("\n") if _DEF_LINE.match(line)
        )
    nodes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))),
        key=lambda n: (n.lineno, n.col_offset),
    )
    offsets = _line_offsets(source)
    headers = []
    for node in nodes:
        start = offsets[node.lineno - 1]
        body = node.body[0]
        end = offsets[body.lineno - 1] + body.col_offset
        colon = _header_colon(source[start:end])
        if colon is not None:
            headers.append(source[start:start + colon + 1] + " ...")
    return "\n".join(headers)


def _header_colon(header: str) -> int | None:
    """Offset of the colon that opens a body: the first at bracket depth 0 (annotations, defaults
    and lambdas sit inside brackets). Only the header is tokenized, which keeps this fast."""
    offsets = _line_offsets(header)
    depth = 0
    for tok in _tokens(header):
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif tok.string == ":" and depth == 0:
                return offsets[tok.start[0] - 1] + tok.start[1]
    return None


def module_name(path: str) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; a package's ``__init__.py`` names the package."""
    stem = path[:-3] if path.endswith(".py") else path
    parts = [p for p in stem.replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, filename: str) -> set[str]:
    """Dotted names ``source`` imports, relative imports resolved against ``filename``'s package.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a module).
    """
    package = module_name(filename).split(".")[:-1] if not filename.endswith("__init__.py") \
        else module_name(filename).split(".")
    found: set[str] = set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        for match in re.finditer(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ]+)|import\s+([\w., ]+))", source, re.M):
            if match.group(3):
                found.update(part.split(" as ")[0].strip() for part in match.group(3).split(","))
            elif not match.group(1).startswith("."):
                found.add(match.group(1))
                found.update(f"{match.group(1)}.{n.strip()}" for n in match.group(2).split(",") if n.strip())
        return {m for m in found if m}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                found.add(base)
            found.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names if alias.name != "*")
    return found


def is_imported(path: str, modules: set[str]) -> bool:
    """Whether the file at ``path`` is one of ``modules`` (also under a ``src/``-style prefix)."""
    name = module_name(path)
    if not name:
        return False
    if name in modules:
        return True
    return any(name.endswith("." + m) for m in modules)


def count_calls(source: str) -> int:
    """Call expressions in ``source``: an opening parenthesis right after a name, ``)`` or ``]``,
    and the calls inside f-strings.

    Token-based, so it also counts in fragments that do not parse; ``def f(`` and ``class C(`` are
    not calls, nor are keywords followed by a parenthesis (``if (x)``), nor ``match (x):`` and the
    class patterns of ``case Point(x=0):`` (a guard's calls are) — as in the original's tree-sitter.
    """
    calls = 0
    header = None  # the `match`/`case` token that opens this statement, while it may be such a header
    guard = False  # past the `if` of a case header
    tentative = 0  # calls that are patterns if the statement proves to be a match/case header
    depth = 0
    prev = prev2 = None
    for tok in _tokens(source):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):  # no `:` came: not a header after all
            calls, tentative, header, guard, depth, prev = calls + tentative, 0, None, False, 0, None
            continue
        if prev is None and tok.type == tokenize.NAME and tok.string in ("match", "case"):
            header = tok
        if tok.type == tokenize.STRING:
            calls += _f_string_calls(tok.string)
        if tok.type == tokenize.OP and tok.string == "(" and prev is not None and _opens_call(prev, prev2):
            if header is not None and not guard and (header.string == "case" or prev is header):
                tentative += 1
            else:
                calls += 1
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
        elif header is not None and depth == 0:
            if tok.type == tokenize.OP and tok.string == ":":
                tentative, header, guard = 0, None, False
            elif tok.type == tokenize.NAME and tok.string == "if" and header.string == "case":
                guard = True
        prev2, prev = prev, tok
    return calls + tentative


def _opens_call(prev: tokenize.TokenInfo, prev2: tokenize.TokenInfo | None) -> bool:
    """Whether a ``(`` after ``prev2 prev`` starts a call."""
    if prev.type == tokenize.NAME:
        return prev.string not in _KEYWORDS and not (
            prev2 is not None and prev2.type == tokenize.NAME and prev2.string in ("def", "class"))
    return prev.type == tokenize.OP and prev.string in (")", "]")


def _f_string_calls(literal: str) -> int:
    """Calls inside an f-string's replacement fields (the original's tree-sitter counts them).

    Before Python 3.12 an f-string is one STRING token; from 3.12 on its fields are tokens of their
    own and counted like any code, and no STRING token is an f-string.
    """
    prefix = literal[:min(i for i in (literal.find("'"), literal.find('"')) if i >= 0)]
    if "f" not in prefix.lower():
        return 0
    try:
        tree = ast.parse(literal, mode="eval")
    except (SyntaxError, ValueError):
        return 0
    return sum(isinstance(node, ast.Call) for node in ast.walk(tree))


#: The code-segment kinds, in the order their chunks are emitted.
SEGMENTS = ("comment", "docstring", "import", "code")


def code_segments(source: str) -> dict[str, str]:
    """``source`` split into its comment, docstring, import and code segments (the newest original's chunker).

    A segment is a run of tokens of one kind with the text up to the next segment, so the line
    break after a comment belongs to the comment. A run of comments is kept only if it spans at
    least two line breaks (single-line comments are dropped); comments and docstrings have every
    line stripped. A dropped or moved comment that ended a line (``x = f(1)  # note``) gives its
    line break back to the segment before it, so the next line does not join ``x = f(1)``.
    Returns the non-blank segments by kind, right-stripped, with every line right-stripped.
    """
    offsets = _line_offsets(source)
    starts: list[tuple[int, str]] = []
    statement_kind = "code"
    at_statement_start = True
    depth = 0
    for tok in _tokens(source):
        if tok.type in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NEWLINE:
            at_statement_start, statement_kind, depth = True, "code", 0
            continue
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
        if tok.type == tokenize.COMMENT:
            # Inside the brackets of an import statement a comment is part of the import (one node).
            kind = "import" if statement_kind == "import" and depth and not at_statement_start else "comment"
        elif tok.type == tokenize.OP and tok.string == ";":
            # `import os; x = 1`: the semicolon is code, and a new statement starts after it.
            kind, at_statement_start = "code", True
        else:
            if at_statement_start:
                statement_kind = "import" if tok.type == tokenize.NAME and tok.string in ("import", "from") else "code"
                at_statement_start = False
            if tok.type == tokenize.STRING and tok.string.startswith(('"""', "'''")):
                kind = "docstring"
            else:
                kind = statement_kind
        if not starts or starts[-1][1] != kind:
            starts.append((offsets[tok.start[0] - 1] + tok.start[1], kind))
    if not starts:
        return {"code": _rstrip_lines(source.rstrip())} if source.strip() else {}
    starts.append((len(source), ""))
    pieces: dict[str, list[str]] = {kind: [] for kind in SEGMENTS}
    last = None  # the kind that received text last
    for (start, kind), (end, _) in zip(starts, starts[1:]):
        text = source[start:end]
        if kind == "comment" and last is not None and not "".join(pieces[last]).rstrip(" \t\f\v\r").endswith("\n"):
            # The comment ended a line of `last`: give that line its break (and the next line's indent).
            pieces[last].append("\n" + text.split("\n")[-1])
        if kind == "comment" and text.count("\n") < 2:
            continue
        if kind in ("comment", "docstring"):
            text = "\n".join(line.strip() for line in text.split("\n"))
        pieces[kind].append(text)
        last = kind
    out = {}
    for kind in SEGMENTS:
        text = "".join(pieces[kind])
        if text.strip():
            out[kind] = _rstrip_lines(text.rstrip())
    return out


def _rstrip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))
