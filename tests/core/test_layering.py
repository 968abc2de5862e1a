"""The import structure the README's layout promises: lca_core knows no concrete component, and
neither its packages nor its modules import each other in a circle (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def import_graph() -> dict[str, set[str]]:
    """lca_core module -> the lca_core modules and other top-level packages it imports, anywhere in it."""
    modules = {}
    for path in (REPO / "lca_core").rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
            found |= {t.split(".")[0] for t in targets if t.split(".")[0] == "lca_plugins"}
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_lca_core_imports_no_builtin_plugin():
    offenders = sorted(name for name, targets in import_graph().items() if "lca_plugins" in targets)
    assert not offenders, f"lca_core must not know a concrete component: {offenders}"


def test_no_import_cycle_between_modules():
    graph = {name: targets - {"lca_plugins"} for name, targets in import_graph().items()}
    assert find_cycle(graph) == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for name, targets in import_graph().items():
        graph.setdefault(package(name), set()).update(
            package(t) for t in targets if t != "lca_plugins" and package(t) != package(name) and "." in t)
    graph.pop("lca_core", None)  # the root package (hookimpl, the old-path aliases) sits under everything
    for targets in graph.values():
        targets.discard("lca_core")
    assert find_cycle(graph) == []


def test_the_plugin_api_is_the_base_layer():
    above = {"lca_core.config", "lca_core.cli", "lca_core.composing", "lca_core.data", "lca_core.models",
             "lca_core.training", "lca_core.evaluation"}
    graph = import_graph()
    leaks = sorted((name, t) for name, targets in graph.items() if name.startswith("lca_core.api")
                   for t in targets if package(t) in above)
    assert not leaks, leaks
