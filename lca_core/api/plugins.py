"""The plugin manager: entry points of group ``lca``, local plugin modules, isolation of failures.

Hooks are called through pluggy's own hook callers, so ``tryfirst``/``trylast``, new-style
(``wrapper=True``) and old-style (``hookwrapper=True``) wrappers and ``firstresult`` mean what
pluggy documents. Two things are added on top:

- registration hooks are called plugin by plugin (each call a pluggy subset hook caller holding one
  plugin's implementations, plugins in pluggy's call order), so one plugin that raises is marked
  BROKEN with its reason while the others, and the CLI, keep working;
- a lifecycle hook that raises stops the run with the name and distribution of the plugin whose
  implementation raised.
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
from lca_core.api.constructors import ComponentDefinitionError
from lca_core.api.errors import ConfigError, ConfigProblem, RunError, did_you_mean
from lca_core.api.registry import Origin, Registry, broken_reason

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
    """A plugin failed to import or register, or registered a class that cannot be a component."""


class PluginDefinitionError(ComponentDefinitionError):
    """A plugin module that pluggy accepts but that cannot work as written (e.g. a misspelt hook name)."""


@attrs.define
class PluginInfo:
    """A loaded (or failed) plugin: its origin and, when broken, why."""

    origin: Origin
    error: BaseException | None = None

    @property
    def status(self) -> str:
        if self.error is None:
            return "ok"
        return f"BROKEN: {broken_reason(self.error)}"


class PluginManager:
    """Loads plugins and owns one `Registry` per component kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("lca")
        self.pm.add_hookspecs(hookspecs)
        # historic: each plugin's lca_addhooks runs as it registers, before any hook it declares is called
        self.pm.hook.lca_addhooks.call_historic(kwargs={"pluginmanager": self.pm})
        self.registries: dict[str, Registry] = {kind: Registry(kind, plural) for kind, (_, plural) in KINDS.items()}
        self.plugins: list[PluginInfo] = []
        self._local_paths: set[Path] = set()
        self._origins: dict[str, Origin] = {}  # pluggy plugin name -> origin

    # --- loading -------------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Register every installed plugin, then call the registration hooks in pluggy's order."""
        loaded: list[tuple[Any, PluginInfo]] = []
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
            info = self._register(obj, origin)
            if info.error is None:
                loaded.append((obj, info))
        # Checked once all are in: a plugin may implement a hook that another plugin declares.
        for obj, info in loaded:
            self._check_hook_names(obj, info)
        self._call_registration_hooks([(obj, info) for obj, info in loaded if info.error is None])

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
        info = self._register(obj, origin)
        if info.error is None:
            self._check_hook_names(obj, info)
        if info.error is None:
            self._call_registration_hooks([(obj, info)])
        return info

    def _register(self, obj: Any, origin: Origin) -> PluginInfo:
        name = f"{origin.distribution}:{origin.plugin}"
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:  # e.g. a hookimpl whose arguments the hookspec does not have
            return self._broken(origin, exc)
        self._origins[name] = origin
        info = PluginInfo(origin)
        self.plugins.append(info)
        return info

    def _check_hook_names(self, obj: Any, info: PluginInfo) -> None:
        """A misspelt ``lca_*`` hook would never be called: the plugin is BROKEN instead, with a hint."""
        known = [name for name in dir(self.pm.hook) if name.startswith("lca_")]
        for caller in self.pm.get_hookcallers(obj) or []:
            if caller.spec is not None or not caller.name.startswith("lca_"):
                continue
            if any(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is obj):
                continue
            match = did_you_mean(caller.name, [n for n in known if getattr(self.pm.hook, n).spec is not None])
            hint = f"did you mean '{match}'?" if match else "docs/plugins.md lists the hooks"
            self._fail(info, PluginDefinitionError(f"hook '{caller.name}' is not an lca hook; {hint}"))
            self.pm.unregister(obj)
            return

    def _call_registration_hooks(self, loaded: list[tuple[Any, PluginInfo]]) -> None:
        infos = {id(obj): info for obj, info in loaded}
        for kind, (hook_name, _) in KINDS.items():
            hook = getattr(self.pm.hook, hook_name)
            impls = hook.get_hookimpls()
            everyone = {id(impl.plugin): impl.plugin for impl in impls}
            # pluggy calls implementations from the end of this list: tryfirst ones first, trylast last
            order: dict[int, Any] = {}
            for impl in sorted(reversed(impls), key=lambda i: bool(i.wrapper or i.hookwrapper)):
                if id(impl.plugin) in infos:
                    order.setdefault(id(impl.plugin), impl.plugin)
            for key, obj in order.items():
                others = [p for k, p in everyone.items() if k != key]
                self._register_components(kind, self.pm.subset_hook_caller(hook_name, others), infos[key])

    def _register_components(self, kind: str, caller: Any, info: PluginInfo) -> None:
        """One plugin's registration hook through pluggy; what it registered is kept unless it raised."""
        registry, origin, added = self.registries[kind], info.origin, []

        def register(name, target, *, description=None):
            entry = registry.register(name, target, origin=origin, description=description)
            added.append(entry)
            if entry.broken is not None:  # a class that cannot be a component of this kind
                self._fail(info, entry.broken)
            return entry

        try:
            caller(register=register)
        except Exception as exc:  # the hook raised: its partial registrations are unusable
            for entry in added:
                entry.broken = entry.broken or exc
            self._fail(info, exc)

    def _fail(self, info: PluginInfo, exc: BaseException) -> None:
        """Mark a registered plugin BROKEN (its first failure is its status); warn about each failure."""
        if info.error is None:
            info.error = exc
            for registry in self.registries.values():
                registry.broken_plugins.append((info.origin, exc))
        self._warn(info.origin, exc)

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
            f"plugin {origin.render()} is broken and was skipped: {broken_reason(exc)} "
            "(`lca-run list` shows it as BROKEN)",
            PluginWarning,
            stacklevel=3,
        )

    # --- use -----------------------------------------------------------------------------------

    def registry(self, kind: str) -> Registry:
        return self.registries[kind]

    def origin(self, plugin_name: str) -> Origin | None:
        """The origin of a plugin by its pluggy name (``distribution:plugin``)."""
        return self._origins.get(plugin_name)

    def notify(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a hook through pluggy and return what pluggy returns (a list, or one value for a
        ``firstresult`` hook); an implementation that raises stops the caller with its plugin's name."""
        hook = getattr(self.pm.hook, hook_name)
        try:
            return hook(**kwargs)
        except Exception as exc:
            impl = raising_impl(hook, exc)
            # the pluggy name is "distribution:plugin", so both are named
            who = f"plugin '{impl.plugin_name}'" if impl is not None else "a plugin"
            raise RunError(f"{who} raised in {hook_name}: {type(exc).__name__}: {exc}") from exc


def raising_impl(hook: Any, exc: BaseException) -> Any:
    """The hook implementation whose code raised ``exc`` (the innermost one on its traceback), or None."""
    codes = {}
    for impl in hook.get_hookimpls():
        code = getattr(getattr(impl.function, "__func__", impl.function), "__code__", None)
        if code is not None:
            codes[code] = impl
    found, tb = None, exc.__traceback__
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


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
