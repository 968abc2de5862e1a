"""What a component is: a class whose constructor parameters are the keys of its TOML table.

Parameters are declared once, on the component, with their types, defaults and docs: as attrs fields
(``param(...)``) or as the annotated parameters of a plain ``__init__`` (`lca_core.api.constructors`).
The run file's table is validated against them and ``lca-run describe`` prints them. Runtime objects
(tokenizer, run directory, seed, rank) never come from TOML: the framework hands them over in
`Component.setup`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import attrs

from lca_core.api import constructors
from lca_core.api.converter import describe_type, structure, unstructure
from lca_core.api.errors import ConfigError, ConfigProblem, ParamError, join_path


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


def make_runtime(config: Any, tokenizer: Any = None, *, rank: int = 0, world_size: int = 1) -> Runtime:
    """The runtime objects of a run file's components, the same for training, evaluation and ``lca-run compose``."""
    return Runtime(seed=config.run.seed, run_dir=config.run_dir, tokenizer=tokenizer, config=config, rank=rank,
                   world_size=world_size)


#: kind -> its base class (ComposerBase, BlockBase, ...), recorded as each base class is defined
KIND_BASES: dict[str, type] = {}


class Component:
    """Base of every registrable component (composer, block, preprocessor, scheduler, logger).

    Subclasses are ``@attrs.define(kw_only=True)`` classes whose init fields are their parameters,
    or plain classes whose ``__init__`` parameters are annotated. Keep ``__init__`` cheap (no model
    or tokenizer loading): it runs when a run file is validated.
    """

    kind: ClassVar[str] = "component"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        known = KIND_BASES.get(kind)
        # the class that first declares a kind is its base; attrs' slotted copy of it replaces it
        if isinstance(kind, str) and (known is None or known.__qualname__ == cls.__qualname__
                                      and known.__module__ == cls.__module__):
            KIND_BASES[kind] = cls

    def setup(self, runtime: Runtime) -> None:
        """Receive runtime objects before first use; the default keeps nothing."""

    def __reduce_ex__(self, protocol):
        # attrs' slotted classes pickle their fields only: a plain subclass's own attributes (set in its
        # __init__) would be lost, and a ``datasets`` worker would compose with a half-built composer.
        cls = type(self)
        if not constructors.is_plain(cls) or not attrs.has(cls):
            return super().__reduce_ex__(protocol)
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(cls) if hasattr(self, f.name)}
        return _rebuild, (cls, fields, dict(getattr(self, "__dict__", {})))


def _rebuild(cls: type, fields: dict[str, Any], own: dict[str, Any]) -> Any:
    """A plain-class component from its pickled (or copied) attrs fields and own attributes."""
    obj = cls.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    obj.__dict__.update(own)
    return obj


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
    if constructors.is_plain(cls):
        try:
            cls = constructors.spec_class(cls)
        except constructors.ComponentDefinitionError:
            return []
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
    plain = constructors.is_plain(cls)
    try:
        spec = constructors.spec_class(cls) if plain else cls
        obj, problems = structure(table, spec, path)
        if plain and obj is not None:
            obj = constructors.instantiate(cls, constructors.spec_values(obj))
    except ConfigError as exc:  # a component validating nested tables (e.g. chained blocks)
        return None, exc.prefixed(path).problems
    except constructors.ComponentDefinitionError:  # the plugin's fault, not the run file's
        raise
    except ParamError as exc:  # a plain __init__'s own check of one parameter
        return None, [ConfigProblem(join_path(path, exc.key), exc.message)]
    except (ValueError, TypeError) as exc:  # an attrs validator on one field
        message = str(exc.args[0]) if exc.args else str(exc)
        match = _QUOTED_NAME.match(message)
        return None, [ConfigProblem(join_path(path, match.group(1)) if match else path, f"invalid value: {message}")]
    return obj, problems


def resolved_params(obj: Any) -> dict[str, Any]:
    """Every parameter of a built component, defaults filled in, as plain TOML-ready values."""
    if constructors.is_plain(type(obj)):
        return unstructure(constructors.plain_params(obj))
    data = unstructure(obj)
    names = {p.name for p in parameters(type(obj))}
    return {k: v for k, v in data.items() if k in names}
