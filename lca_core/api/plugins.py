"""The plugin manager: entry points of group ``lca``, local plugin modules, isolation of failures.

Every registration hook is called plugin by plugin, so one plugin that raises is marked BROKEN
(with its reason) while the others, and the CLI, keep working.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import pluggy

from lca_core.api import hookspecs
from lca_core.api.errors import ConfigError, ConfigProblem, RunError
from lca_core.api.registry import Entry, Origin, Registry

ENTRY_POINT_GROUP = "lca"

#: kind -> (registration hook, plural used on the command line)
KINDS: dict[str, tuple[str, str]] = {
    "composer": ("lca_register_composers", "composers"),
    "block": ("lca_register_blocks", "blocks"),
    "preprocessor": ("lca_register_preprocessors", "preprocessors"),
    "scheduler": ("lca_register_schedulers", "schedulers"),
    "logger": ("lca_register_loggers", "loggers"),
}


class PluginWarning(UserWarning):
    """A plugin failed to import or register; it is listed as BROKEN."""


@attrs.define
class PluginInfo:
    """A loaded (or failed) plugin: its origin and, when broken, why."""

    origin: Origin
    error: BaseException | None = None

    @property
    def status(self) -> str:
        if self.error is None:
            return "ok"
        return f"BROKEN: {type(self.error).__name__}: {self.error}"


class PluginManager:
    """Loads plugins and owns one `Registry` per component kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("lca")
        self.pm.add_hookspecs(hookspecs)
        self.registries: dict[str, Registry] = {kind: Registry(kind, plural) for kind, (_, plural) in KINDS.items()}
        self.plugins: list[PluginInfo] = []
        self._local_paths: set[Path] = set()

    # --- loading -------------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            origin = Origin(
                plugin=ep.name,
                distribution=dist.name if dist is not None else "unknown",
                version=dist.version if dist is not None else "",
            )
            try:
                obj = ep.load()
            except Exception as exc:  # isolate: one plugin's import error never stops the CLI
                self._broken(origin, exc)
                continue
            self.add_plugin(obj, origin)

    def load_local(self, path: Path, *, key: str = "plugins.modules") -> None:
        """Import a plugin module from a file named in a run file and register it like an installed one."""
        path = Path(path).resolve()
        if path in self._local_paths:
            return
        if not path.is_file():
            raise ConfigError([ConfigProblem(key, f"local plugin module '{path}' does not exist")])
        module_name = f"lca_local_plugin_{abs(hash(str(path)))}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ConfigError(
                [ConfigProblem(key, f"local plugin module '{path}' failed to import: {type(exc).__name__}: {exc}")]
            ) from exc
        self._local_paths.add(path)
        info = self.add_plugin(module, Origin(plugin=str(path), distribution="local file"))
        if info.error is not None:
            raise ConfigError(
                [ConfigProblem(key, f"local plugin module '{path}' failed to register: {info.status[8:]}")]
            ) from info.error

    def add_plugin(self, obj: Any, origin: Origin) -> PluginInfo:
        """Register one plugin object (usually a module) and call its registration hooks."""
        info = PluginInfo(origin)
        try:
            self.pm.register(obj, name=f"{origin.distribution}:{origin.plugin}")
        except Exception as exc:  # e.g. a hookimpl whose name matches no hookspec
            return self._broken(origin, exc)
        self.plugins.append(info)
        for kind, (hook_name, _) in KINDS.items():
            registry = self.registries[kind]
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin is not obj:
                    continue
                added: list[Entry] = []

                def register(name, target, *, description=None, _registry=registry, _added=added):
                    _added.append(_registry.register(name, target, origin=origin, description=description))

                try:
                    impl.function(**{arg: register for arg in impl.argnames})
                except Exception as exc:  # the hook raised: its partial registrations are unusable
                    for entry in added:
                        entry.broken = exc
                    info.error = exc
                    self._warn(origin, exc)
        if info.error is not None:
            for registry in self.registries.values():
                registry.broken_plugins.append((origin, info.error))
        return info

    def _broken(self, origin: Origin, exc: BaseException) -> PluginInfo:
        info = PluginInfo(origin, exc)
        self.plugins.append(info)
        for registry in self.registries.values():
            registry.broken_plugins.append((origin, exc))
        self._warn(origin, exc)
        return info

    @staticmethod
    def _warn(origin: Origin, exc: BaseException) -> None:
        warnings.warn(
            f"plugin {origin.render()} is broken and was skipped: {type(exc).__name__}: {exc} "
            "(`lca-run list` shows it as BROKEN)",
            PluginWarning,
            stacklevel=3,
        )

    # --- use -----------------------------------------------------------------------------------

    def registry(self, kind: str) -> Registry:
        return self.registries[kind]

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook plugin by plugin; a raising plugin stops the run with its name."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{arg: kwargs.get(arg) for arg in impl.argnames})
            except Exception as exc:
                raise RunError(
                    f"plugin '{impl.plugin_name}' raised in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loading installed plugins on first use."""
    global _MANAGER
    if _MANAGER is None:
        manager = PluginManager()
        manager.load_entry_points()
        _MANAGER = manager
    return _MANAGER


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests use this to undo temporary plugins)."""
    global _MANAGER
    _MANAGER = None
