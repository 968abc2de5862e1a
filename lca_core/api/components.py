"""What a component is: an attrs class whose init fields are the parameters of its TOML table.

Parameters are declared once, on the component, with their types, defaults and docs; the run file's
table is validated against them and ``lca-run describe`` prints them. Runtime objects (tokenizer,
run directory, seed, rank) never come from TOML: the framework hands them over in `Component.setup`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import attrs

from lca_core.api.converter import describe_type, structure, unstructure
from lca_core.api.errors import ConfigError, ConfigProblem, join_path


def param(default: Any = attrs.NOTHING, *, doc: str, factory: Any = None, validator: Any = None) -> Any:
    """Declare a component parameter: ``max_seq_len: int = param(16384, doc="...")``."""
    if factory is not None:
        return attrs.field(factory=factory, metadata={"doc": doc}, validator=validator, kw_only=True)
    return attrs.field(default=default, metadata={"doc": doc}, validator=validator, kw_only=True)


@attrs.frozen
class Runtime:
    """Objects a component may need that are not parameters: passed by the framework, never by TOML."""

    seed: int = 0
    run_dir: Path | None = None
    tokenizer: Any = None
    rank: int = 0
    world_size: int = 1
    config: Any = None


class Component:
    """Base of every registrable component (composer, block, preprocessor, scheduler, logger).

    Subclasses are ``@attrs.define(kw_only=True)`` classes; their init fields are their parameters.
    Keep ``__init__`` cheap (no model or tokenizer loading): it runs when a run file is validated.
    """

    kind: ClassVar[str] = "component"

    def setup(self, runtime: Runtime) -> None:
        """Receive runtime objects before first use; the default keeps nothing."""


@attrs.frozen
class ParamInfo:
    """One declared parameter, as ``lca-run describe`` shows it."""

    name: str
    type: str
    default: Any
    required: bool
    doc: str


def parameters(cls: type) -> list[ParamInfo]:
    """The declared parameters of a component class, in declaration order."""
    if not attrs.has(cls):
        return []
    try:
        attrs.resolve_types(cls)  # string annotations (from __future__ import annotations) -> types
    except Exception:  # an unresolvable forward reference: show the annotation as written
        pass
    out = []
    for field in attrs.fields(cls):
        if not field.init or field.name.startswith("_"):
            continue
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory() if not default.takes_self else None
        required = default is attrs.NOTHING
        out.append(
            ParamInfo(
                name=field.name,
                type=describe_type(field.type) if field.type is not None else "any",
                default=None if required else default,
                required=required,
                doc=field.metadata.get("doc", ""),
            )
        )
    return out


_QUOTED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)'")


def build_params(cls: type, table: dict[str, Any], path: str) -> tuple[Any, list[ConfigProblem]]:
    """Validate ``table`` against ``cls``'s parameters; return (instance, problems)."""
    try:
        obj, problems = structure(table, cls, path)
    except ConfigError as exc:  # a component validating nested tables (e.g. chained blocks)
        return None, exc.prefixed(path).problems
    except (ValueError, TypeError) as exc:  # an attrs validator on one field
        message = str(exc.args[0]) if exc.args else str(exc)
        match = _QUOTED_NAME.match(message)
        return None, [ConfigProblem(join_path(path, match.group(1)) if match else path, f"invalid value: {message}")]
    return obj, problems


def resolved_params(obj: Any) -> dict[str, Any]:
    """Every parameter of a built component, defaults filled in, as plain TOML-ready values."""
    data = unstructure(obj)
    names = {p.name for p in parameters(type(obj))}
    return {k: v for k, v in data.items() if k in names}
