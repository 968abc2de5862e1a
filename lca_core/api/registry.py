"""One generic registry of named components, an instance per kind (composer, preprocessor, ...).

Targets are classes or lazy ``"package.module:Class"`` strings, imported on first use so that
starting a run never imports a plugin's heavy dependencies it does not use. A target must be a
subclass of its kind's base class with readable parameters (`check_target`): a class is checked when
it is registered, a lazy string when it is imported; either way a bad one is BROKEN, never used.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

from lca_core.api.errors import ConfigError, ConfigProblem, RunError, suggestion

#: kind -> where its base class lives (for messages: the bases register themselves, `KIND_BASES`)
KIND_BASE_PATHS: dict[str, str] = {
    "composer": "lca_core.composing.composers.ComposerBase",
    "block": "lca_core.composing.blocks.BlockBase",
    "preprocessor": "lca_core.composing.preprocessing.PreprocessorBase",
    "scheduler": "lca_core.api.schedulers.SchedulerBase",
    "logger": "lca_core.api.loggers.LoggerBase",
}


def check_target(kind: str, name: str, target: Any) -> None:
    """Raise `ComponentDefinitionError` unless ``target`` can be a ``kind`` called ``name``."""
    from lca_core.api.components import KIND_BASES, Component
    from lca_core.api.constructors import ComponentDefinitionError, definition_problem

    if kind not in KIND_BASE_PATHS:  # a registry of a kind the framework does not know: nothing to check
        return
    base = KIND_BASES.get(kind)  # None until its module is imported: then no class derives from it
    if not (isinstance(target, type) and base is not None and issubclass(target, base)):
        what = target.__qualname__ if isinstance(target, type) else repr(target)
        other = getattr(target, "kind", None) if isinstance(target, type) and issubclass(target, Component) else None
        path = KIND_BASE_PATHS[kind]
        hint = (f"it is a {other}: register it in lca_register_{other}s" if other in KIND_BASE_PATHS else
                f"derive it from {path}")
        raise ComponentDefinitionError(f"{name} is registered as a {kind} but {what} is not a "
                                       f"{path.rsplit('.', 1)[1]} subclass ({hint})")
    problem = definition_problem(target)
    if problem:
        raise ComponentDefinitionError(f"{kind} {name}: {problem}")


@attrs.frozen
class Origin:
    """Where a registration came from: the distribution and the plugin (entry point or module)."""

    plugin: str
    distribution: str = "local"
    version: str = ""

    def render(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"{self.distribution}{version} (plugin '{self.plugin}')"


@attrs.define
class Entry:
    """A registered component: its name, lazy target and origin; ``broken`` holds a plugin's failure."""

    kind: str
    name: str
    target: Any
    origin: Origin
    description: str | None = None
    broken: BaseException | None = None

    def load(self) -> type:
        """Import the target if it is a ``"module:attr"`` string; errors name the plugin."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin must not take the CLI down with a traceback
            raise RunError(
                f"{self.kind} '{self.name}' from {self.origin.render()} could not be imported "
                f"from '{self.target}': {type(exc).__name__}: {exc}"
            ) from exc
        try:
            check_target(self.kind, self.name, obj)
        except TypeError as exc:
            self.broken = exc
            raise RunError(f"{self.kind} '{self.name}' comes from a broken plugin, {self.origin.render()}: "
                           f"{exc}") from exc
        self.target = obj
        return obj

    def summary(self) -> str:
        """The description, or the first line of the target's docstring when it is already loaded."""
        if self.description:
            return self.description
        if not isinstance(self.target, str):
            doc = (self.target.__doc__ or "").strip()
            return doc.splitlines()[0] if doc else ""
        return ""


class Registry:
    """Components of one kind by name; duplicate names are kept so conflicts can be reported."""

    def __init__(self, kind: str, plural: str | None = None):
        self.kind = kind
        self.plural = plural or kind + "s"
        self._entries: dict[str, list[Entry]] = {}
        self.broken_plugins: list[tuple[Origin, BaseException]] = []

    def register(self, name: str, target: Any, *, origin: Origin, description: str | None = None) -> Entry:
        """Add ``target`` under ``name``; a class that cannot be a component of this kind is kept as a
        broken entry (``entry.broken``), so that `lca-run list` shows it and a run never uses it."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if isinstance(target, str) and ":" not in target:
            raise ValueError(f"{self.kind} '{name}': a lazy target is 'package.module:Class', got {target!r}")
        entry = Entry(self.kind, name, target, origin, description)
        if not isinstance(target, str):
            try:
                check_target(self.kind, name, target)
            except TypeError as exc:
                entry.broken = exc
        same = self._entries.setdefault(name, [])
        # The same distribution registering a name twice (e.g. re-loaded local plugin) replaces it.
        same[:] = [e for e in same if e.origin != origin]
        same.append(entry)
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [e for name in self.names() for e in self._entries[name]]

    def conflicts(self, name: str) -> list[Entry]:
        found = self._entries.get(name, [])
        return found if len(found) > 1 else []

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entry(self, name: str, *, path: str = "") -> Entry:
        """The single usable entry for ``name``; ConfigError for unknown or conflicting names."""
        path = path or f"{self.kind}.name"
        found = self._entries.get(name)
        if not found:
            installed = ", ".join(self.names()) or "none"
            message = f"unknown {self.kind} '{name}'{suggestion(name, self.names())} (installed: {installed})"
            if self.broken_plugins:
                broken = "; ".join(f"{o.render()}: {type(e).__name__}: {e}" for o, e in self.broken_plugins)
                message += f"; broken plugins that may provide it: {broken}"
            raise ConfigError([ConfigProblem(path, message)])
        if len(found) > 1:
            origins = " and ".join(e.origin.render() for e in found)
            raise ConfigError(
                [ConfigProblem(path, f"{self.kind} '{name}' is registered by {origins}; uninstall one of them")]
            )
        entry = found[0]
        if entry.broken is not None:
            raise RunError(f"{self.kind} '{name}' comes from a broken plugin, {entry.origin.render()}: "
                           f"{broken_reason(entry.broken)}")
        return entry

    def load(self, name: str, *, path: str = "") -> type:
        return self.entry(name, path=path).load()


def broken_reason(exc: BaseException) -> str:
    """Why an entry or plugin is broken: a definition problem as it is, anything else with its type."""
    from lca_core.api.constructors import ComponentDefinitionError

    return str(exc) if isinstance(exc, ComponentDefinitionError) else f"{type(exc).__name__}: {exc}"
