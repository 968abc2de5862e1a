"""Line categories of a completion file, computed with Python's `ast` as the LCA dataset card defines them.

A line takes the first category that applies, in this order:

- ``commited``: uses a function or class new in this commit (declared in another ``.py`` file the
  commit adds, and nowhere in the snapshot);
- ``inproject``: uses a function or class declared in the snapshot's ``.py`` files, or a name
  imported from the project (a relative import or one of the snapshot's top-level packages);
- ``infile``: uses a function or class declared in the completion file;
- ``common``: uses a builtin or a very frequent name (`FREQUENT_NAMES`);
- ``non_informative``: fewer than 5 non-space characters, a comment, part of an import statement
  or a docstring, or inside a multi-line string;
- ``other``: every remaining non-blank line. Blank lines are in no category.

A *use* is a name or attribute read in code (never in strings or comments; the name a ``def`` or
``class`` defines and the names an ``import`` binds do not count). Bare names are resolved by scope:
parameters and local variables are not uses. Attributes (``obj.name``) count when called or used
as a decorator, when ``name`` is a class, or when ``obj`` comes from a project import;
``self.name`` / ``cls.name`` declared in the file count as ``infile``. Builtins, frequent names,
dunder names and one-letter names never count as project or file declarations, except a bare name
explicitly imported from the project.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import random
import re
from collections.abc import Iterable

import attrs

from lca_core.data.schema import CATEGORIES, RAW_CATEGORIES

#: names so frequent that using them says little about the project ("common")
FREQUENT_NAMES = frozenset({
    "main", "get", "set", "run", "append", "extend", "items", "keys", "values", "join", "split", "strip",
    "format", "read", "write", "open", "close", "update", "pop", "add", "remove", "insert", "copy",
    "replace", "startswith", "endswith", "lower", "upper", "encode", "decode", "setdefault", "sort",
    "info", "debug", "warning", "error", "exception", "exists", "mkdir", "assertEqual", "assertTrue",
    "assertFalse", "assertIn", "assertIsNone", "assertIsNotNone", "assertRaises", "setUp", "tearDown",
    "name", "path", "data", "value", "start", "stop", "test",
})
BUILTIN_NAMES = frozenset(dir(builtins))
#: the order in which a line takes its category
PRIORITY = ("commited", "inproject", "infile", "common")
DECLARATION = re.compile(r"^[ \t]*(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def declarations(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """(every function and class name declared in ``source``, the class names), by a fast line scan."""
    names, classes = set(), set()
    for kind, name in DECLARATION.findall(source):
        names.add(name)
        if kind == "class":
            classes.add(name)
    return frozenset(names), frozenset(classes)


def top_level_modules(filenames: Iterable[str]) -> frozenset[str]:
    """Importable top-level names of a snapshot: ``pkg`` for ``pkg/x.py``, ``mod`` for ``mod.py`` (and src/ layouts)."""
    out = set()
    for filename in filenames:
        if not filename.endswith(".py"):
            continue
        parts = filename.split("/")
        out.add(parts[0].removesuffix(".py"))
        if parts[0] in ("src", "lib") and len(parts) > 1:
            out.add(parts[1].removesuffix(".py"))
    return frozenset(out)


@attrs.frozen
class Project:
    """What the completion file can use: snapshot declarations and the commit's new ones."""

    names: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    #: functions/classes declared in the commit's other added files and nowhere in the snapshot
    commit_names: frozenset[str] = frozenset()
    commit_classes: frozenset[str] = frozenset()


def _never_declared(name: str) -> bool:
    return len(name) == 1 or (name.startswith("__") and name.endswith("__"))


def _local_names(function: ast.AST) -> set[str]:
    """Parameters and variables bound in a function's own scope (not in nested functions or classes)."""
    args = function.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    declared_elsewhere = set()
    stack = list(function.body) if isinstance(function.body, list) else [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_elsewhere.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.alias,)):
            continue  # imports inside a function are resolved as imports
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            # their bodies are other scopes; decorators and defaults belong to this one
            stack.extend(getattr(node, "decorator_list", []))
            if not isinstance(node, ast.ClassDef):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names - declared_elsewhere


class _UseFinder(ast.NodeVisitor):
    """Walks the syntax tree and records, per 0-based line, the categories of the uses on it."""

    def __init__(self, tree: ast.Module, project: Project):
        self.project = project
        self.file_names, file_classes = set(), set()
        self.imports: dict[str, str] = {}  # bound name -> commited | inproject | external
        self.star_project = False
        self.called: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.file_names.add(node.name)
                if isinstance(node, ast.ClassDef):
                    file_classes.add(node.name)
                self.called.update(id(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list)
            elif isinstance(node, ast.Call):
                self.called.add(id(node.func))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind_import(node)
        self.classes = project.classes | project.commit_classes | file_classes
        self.scopes: list[set[str]] = []
        self.lines: dict[int, set[str]] = {}

    def _bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                kind = "inproject" if top in self.project.modules else "external"
                self.imports[alias.asname or top] = kind
            return
        from_project = node.level > 0 or (node.module or "").split(".")[0] in self.project.modules
        for alias in node.names:
            if alias.name == "*":
                self.star_project = self.star_project or from_project
                continue
            kind = "external"
            if from_project:
                kind = "commited" if alias.name in self.project.commit_names else "inproject"
            self.imports[alias.asname or alias.name] = kind

    def _record(self, line: int, category: str | None) -> None:
        if category:
            self.lines.setdefault(line - 1, set()).add(category)

    def _is_local(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def _scoped(self, node) -> None:
        self.scopes.append(_local_names(node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scoped

    def _declared(self, name: str) -> str | None:
        if name in self.project.commit_names:
            return "commited"
        if name in self.project.names:
            return "inproject"
        if name in self.file_names:
            return "infile"
        return None

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not self._is_local(node.id):
            self._record(node.lineno, self._bare_name(node.id))

    def _bare_name(self, name: str) -> str | None:
        kind = self.imports.get(name)
        if kind in ("commited", "inproject"):
            return kind
        if name in BUILTIN_NAMES or name in FREQUENT_NAMES:
            return "common"
        if kind or _never_declared(name):
            return None
        if name in self.file_names:
            return "infile"
        if self.star_project:
            category = self._declared(name)
            return category if category != "infile" else None
        return None

    def _root(self, node: ast.AST) -> ast.AST:
        while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            self._record(node.end_lineno or node.lineno, self._attribute(node))

    def _attribute(self, node: ast.Attribute) -> str | None:
        name = node.attr
        if _never_declared(name):
            return None
        called = id(node) in self.called
        if name in BUILTIN_NAMES or name in FREQUENT_NAMES:
            return "common" if called else None
        value = node.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls") and name in self.file_names:
            return "infile"
        root = self._root(value)
        from_project = (isinstance(root, ast.Name) and not self._is_local(root.id)
                        and self.imports.get(root.id) in ("commited", "inproject"))
        if called or name in self.classes or from_project:
            return self._declared(name)
        return None


def _non_informative_lines(tree: ast.Module, lines: list[str]) -> set[int]:
    """0-based lines that are imports, docstrings, inside multi-line strings, comments or very short."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(range(node.lineno - 1, node.end_lineno))
        elif isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.update(range(body[0].lineno - 1, body[0].end_lineno))
        elif isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                out.update(range(node.lineno, node.end_lineno))  # the lines after the opening quote
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#") or len("".join(stripped.split())) < 5:
            out.add(index)
    return out


def categorize(content: str, project: Project) -> dict[str, list[int]]:
    """``completion_lines_raw`` of a completion file: category -> sorted 0-based line indices.

    Raises SyntaxError when the file does not parse as Python 3.
    """
    tree = ast.parse(content)
    lines = content.split("\n")
    finder = _UseFinder(tree, project)
    finder.visit(tree)
    weak = _non_informative_lines(tree, lines)
    raw: dict[str, list[int]] = {key: [] for key in RAW_CATEGORIES}
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        found = finder.lines.get(index, ())
        category = next((c for c in PRIORITY if c in found), None)
        if category is None:
            category = "non_informative" if index in weak else "other"
        raw[category].append(index)
    return raw


def sample_lines(raw: dict[str, list[int]], key: str, per_category: int = 10) -> dict[str, list[int]]:
    """``completion_lines``: up to ``per_category`` sorted lines per category (``random`` from ``other``).

    ``key`` (e.g. "42:repo:commit:path") seeds the draw, so a build is reproducible.
    """
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    out = {}
    for category in CATEGORIES:
        source = raw["other" if category == "random" else category]
        out[category] = sorted(rng.sample(source, min(per_category, len(source))))
    return out
