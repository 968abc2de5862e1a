"""Reading a run file: TOML, command-line overrides, local plugins, strict validation, all problems at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lca_core.api.components import build_params, resolved_params
from lca_core.api.converter import structure, unstructure
from lca_core.config.schema import (
    COMPONENT_TABLES,
    FIXED_TABLES,
    REQUIRED_TABLES,
    TABLE_ORDER,
    ComponentConfig,
    RunConfig,
)
from lca_core.api.errors import ConfigError, ConfigProblem, suggestion

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


TOO_DEEP = "arrays or tables nested too deeply to read (a run file needs a few levels at most)"


def missing_run_file(path: Path) -> str:
    """What to say about a run file that is not there: the closest .toml beside it, or how to make one."""
    import difflib
    import os

    folder = path.parent if path.parent.is_dir() else None
    near = difflib.get_close_matches(path.name, sorted(p.name for p in folder.glob("*.toml")), n=1) if folder else []
    where = f" (relative paths start at {os.getcwd()})" if not path.is_absolute() else ""
    hint = (f"did you mean '{path.parent / near[0]}'?" if near else
            "give the path of an existing run file, or make one with `lca-run init`")
    return f"run file '{path}' does not exist{where}; {hint}"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors become a ConfigError naming the file, line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(missing_run_file(Path(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"run file '{path}' cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ConfigError(TOO_DEEP, source=str(path)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``trainer.learning_rate=3e-5`` -> (["trainer", "learning_rate"], 3e-05).

    The value is read as a TOML literal; a bare word that is not one (``composer.name=file_level``)
    is taken as a string.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([ConfigProblem("", f"override '{text}' is not of the form key.path=value")])
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError([ConfigProblem(key, f"override '{text}' has an empty key part")])
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ConfigError([ConfigProblem(key, f"override: {TOO_DEEP}")]) from None
    return [p.strip() for p in parts], value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for text in overrides:
        try:
            parts, value = parse_override(text)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append(ConfigProblem(".".join(parts[: i + 1]), f"override '{text}': not a table"))
                break
            node = child
        else:
            node[parts[-1]] = value
    return problems


def load_run_config(path: str | Path, overrides: list[str] | None = None, *, manager=None) -> RunConfig:
    """Read, override and validate a run file; raise one ConfigError listing every problem."""
    path = Path(path)
    data = read_toml(path)
    return config_from_dict(data, overrides or [], source=path, manager=manager)


def config_from_dict(
    data: dict[str, Any], overrides: list[str] | None = None, *, source: Path | None = None, manager=None
) -> RunConfig:
    from lca_core.api.plugins import get_plugin_manager

    source_name = str(source) if source is not None else None
    problems = apply_overrides(data, overrides or [])
    manager = manager or get_plugin_manager()

    known = set(FIXED_TABLES) | set(COMPONENT_TABLES)
    for key in data:
        if key not in known:
            problems.append(
                ConfigProblem(key, f"unknown table{suggestion(key, known)} (tables: {', '.join(TABLE_ORDER)})")
            )
    for key in REQUIRED_TABLES:
        if key not in data:
            problems.append(ConfigProblem(key, f"missing table [{key}]"))

    sections: dict[str, Any] = {}
    # Local plugins first: they may register the components the other tables name.
    plugins_table = data.get("plugins", {})
    plugins, plugin_problems = structure(plugins_table, FIXED_TABLES["plugins"], "plugins")
    problems.extend(plugin_problems)
    if plugins is not None:
        base = source.parent if source is not None else Path.cwd()
        for index, module in enumerate(plugins.modules):
            try:
                manager.load_local(base / module, key=f"plugins.modules[{index}]")
            except ConfigError as exc:
                problems.extend(exc.problems)
    sections["plugins"] = plugins

    for key, cls in FIXED_TABLES.items():
        if key == "plugins" or (key in REQUIRED_TABLES and key not in data):
            continue
        obj, table_problems = structure(data.get(key, {}), cls, key)
        problems.extend(table_problems)
        sections[key] = obj

    for key, default_name in COMPONENT_TABLES.items():
        component, component_problems = _component(key, data.get(key, {}), default_name, manager)
        problems.extend(component_problems)
        sections[key] = component

    if problems:
        raise ConfigError(problems, source=source_name)
    return RunConfig(**sections, source=source)


def _component(kind: str, table: Any, default_name: str, manager) -> tuple[ComponentConfig | None, list[ConfigProblem]]:
    if not isinstance(table, dict):
        return None, [ConfigProblem(kind, f"expected a table, got {table!r}")]
    table = dict(table)
    name = table.pop("name", default_name)
    if not isinstance(name, str):
        return None, [ConfigProblem(f"{kind}.name", f"expected a string, got {name!r}")]
    try:
        cls = manager.registry(kind).load(name, path=f"{kind}.name")
    except ConfigError as exc:
        return None, exc.problems
    except Exception as exc:  # a broken plugin's component selected by this run
        return None, [ConfigProblem(f"{kind}.name", str(exc))]
    obj, problems = build_params(cls, table, kind)
    if problems:
        return None, problems
    return ComponentConfig(kind=kind, name=name, params=resolved_params(obj), instance=obj), []


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The resolved configuration, every default filled in, ready for TOML (None values dropped)."""
    out: dict[str, Any] = {}
    for key in TABLE_ORDER:
        value = getattr(config, key)
        if isinstance(value, ComponentConfig):
            table = {"name": value.name, **value.params}
        else:
            table = unstructure(value)
        out[key] = _drop_none(table)
    return out


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dump_toml(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(data)
