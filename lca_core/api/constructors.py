"""What a component's parameters are: attrs fields, or the annotated parameters of a plain ``__init__``.

A component is either an attrs class (its init fields are its parameters, declared with `param`) or
a plain class whose ``__init__`` names its parameters with type annotations, the way the original
pipeline wrote them::

    class MyComposer(RankingComposer):
        def __init__(self, max_files: int = 20, **kwargs):
            super().__init__(**kwargs)      # **kwargs: the base class's parameters pass through
            self.max_files = max_files

For a plain class an attrs *spec* class is made from the signature, so its run-file table is checked
exactly like an attrs component's (strict types, unknown keys with a did-you-mean, defaults shown by
``lca-run describe``). ``Annotated[int, "doc"]`` gives a parameter its documentation.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any

import attrs


class ComponentDefinitionError(TypeError):
    """A class that cannot be a component as written (its plugin is listed as BROKEN)."""


def init_owner(cls: type) -> type:
    """The class in ``cls``'s MRO that defines the ``__init__`` instances are built with."""
    return next(k for k in cls.__mro__ if "__init__" in k.__dict__)


def _is_attrs_init(owner: type) -> bool:
    return "__attrs_attrs__" in owner.__dict__


def is_plain(cls: type) -> bool:
    """True when ``cls`` is built by a hand-written ``__init__`` rather than an attrs-generated one."""
    return not _is_attrs_init(init_owner(cls)) and init_owner(cls) is not object


def _attrs_base(cls: type) -> type | None:
    """The nearest attrs class above a plain class (whose fields ``**kwargs`` passes through)."""
    return next((k for k in cls.__mro__[1:] if _is_attrs_init(k)), None)


def _hint(name: str) -> str:
    return f"{name}: int = 20"


def definition_problem(cls: type) -> str | None:
    """Why ``cls``'s parameters cannot be read, naming what to add; None when they can."""
    name = cls.__qualname__
    stray = _stray_annotations(cls)
    if stray:
        shown = ", ".join(f"'{n}'" for n in stray)
        return (f"{name} declares {shown} as class annotations but is not an attrs class, so they are not "
                f"parameters; decorate it with @attrs.define(kw_only=True) (and declare them with "
                f"lca_core.api.components.param), or take them as annotated __init__ parameters")
    if not is_plain(cls):
        return None
    try:
        _spec(cls)
    except ComponentDefinitionError as exc:
        return str(exc)
    return None


def _stray_annotations(cls: type) -> list[str]:
    """Annotated class attributes of an undecorated subclass of an attrs class: attrs never saw them."""
    if "__attrs_attrs__" in cls.__dict__ or "__init__" in cls.__dict__ or not attrs.has(cls):
        return []
    own = inspect.get_annotations(cls)
    return [n for n, tp in own.items() if not n.startswith("_") and "ClassVar" not in str(tp)]


@functools.lru_cache(maxsize=None)
def _spec(cls: type) -> type:
    """An attrs class with one kw-only field per parameter of ``cls``'s plain ``__init__``."""
    owner = init_owner(cls)
    init = owner.__dict__["__init__"]
    where = f"{cls.__qualname__}.__init__"
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception as exc:  # a forward reference that does not resolve
        raise ComponentDefinitionError(f"{where}: its annotations cannot be resolved ({type(exc).__name__}: "
                                       f"{exc}); import the types it names in its module") from None
    signature = inspect.signature(init)
    parameters = list(signature.parameters.values())[1:]  # without self
    forwards = False
    fields: dict[str, Any] = {}
    for p in parameters:
        if p.kind is p.VAR_KEYWORD:
            forwards = True
            continue
        if p.kind is p.VAR_POSITIONAL:
            raise ComponentDefinitionError(
                f"{where} takes *{p.name}: a run file can only give named parameters; replace it with "
                f"annotated parameters, e.g. def __init__(self, {_hint('max_files')})")
        if p.kind is p.POSITIONAL_ONLY:
            raise ComponentDefinitionError(f"{where}: parameter '{p.name}' is positional-only; a run file gives "
                                           "parameters by name, so drop the '/'")
        if p.name not in hints:
            raise ComponentDefinitionError(
                f"{where}: parameter '{p.name}' has no type annotation; annotate it (e.g. "
                f"'{p.name}: int{'' if p.default is p.empty else ' = ' + repr(p.default)}') so the run file can "
                "be checked, or make the class an attrs class with param(...) fields")
        tp, doc = _unwrap(hints[p.name])
        default = attrs.NOTHING if p.default is p.empty else p.default
        fields[p.name] = attrs.field(type=tp, default=default, kw_only=True, metadata={"doc": doc})
    if forwards:
        base = _attrs_base(cls)
        if base is None and not fields:
            raise ComponentDefinitionError(
                f"{where} takes only **kwargs, so nothing says which parameters it has; name them with types, "
                f"e.g. def __init__(self, {_hint('max_files')})")
        if base is not None:
            try:
                attrs.resolve_types(base)  # its string annotations, in its own module
            except Exception:  # left as written; describe shows them as such
                pass
        for field in attrs.fields(base) if base is not None else ():
            if field.init and not field.name.startswith("_") and field.name not in fields:
                default = field.default
                if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    default = attrs.Factory(default.factory) if not default.takes_self else attrs.NOTHING
                fields[field.alias or field.name] = attrs.field(type=field.type, default=default, kw_only=True,
                                                                metadata=field.metadata)
    spec = attrs.make_class(cls.__name__, fields, kw_only=True)
    spec.__qualname__ = cls.__qualname__
    spec.__module__ = cls.__module__
    try:
        attrs.resolve_types(spec, include_extras=False)
    except Exception:  # string annotations forwarded from an attrs base: shown as written
        pass
    return spec


def _unwrap(tp: Any) -> tuple[Any, str]:
    """``Annotated[int, "doc"]`` -> (int, "doc"); anything else -> (tp, "")."""
    if typing.get_origin(tp) is typing.Annotated:
        inner, *extras = typing.get_args(tp)
        return inner, next((e for e in extras if isinstance(e, str)), "")
    return tp, ""


def spec_class(cls: type) -> type:
    """The attrs class whose fields are ``cls``'s parameters (``cls`` itself for an attrs component)."""
    return _spec(cls) if is_plain(cls) else cls


def spec_values(spec_obj: Any) -> dict[str, Any]:
    """The keyword arguments a validated spec object stands for."""
    return {f.alias or f.name: getattr(spec_obj, f.name) for f in attrs.fields(type(spec_obj))}


def instantiate(cls: type, values: dict[str, Any]) -> Any:
    """Build a plain-class component from validated keyword arguments; remembers them."""
    obj = cls(**values)
    base = _attrs_base(cls)
    unset = [f.name for f in attrs.fields(base) if f.init and not hasattr(obj, f.name)] if base is not None else []
    if unset:  # the base class's own __init__ never ran: its fields would fail at first use
        raise ComponentDefinitionError(
            f"{cls.__qualname__}.__init__ must call super().__init__(**kwargs) (take **kwargs for the base class's "
            f"parameters): {base.__qualname__}'s {', '.join(unset)} were never set")
    try:
        object.__setattr__(obj, "_lca_params", dict(values))
    except (AttributeError, TypeError):  # __slots__ without room for it: read the attributes back instead
        pass
    return obj


def rebuilt(obj: Any) -> Any:
    """A fresh component with the same parameters as ``obj`` (no state shared with it)."""
    cls = type(obj)
    return instantiate(cls, plain_params(obj)) if is_plain(cls) else attrs.evolve(obj)


def plain_params(obj: Any) -> dict[str, Any]:
    """The parameters a plain-class component was built with (or its same-named attributes)."""
    values = getattr(obj, "_lca_params", None)
    if values is None:
        values = {f.name: getattr(obj, f.name) for f in attrs.fields(_spec(type(obj))) if hasattr(obj, f.name)}
    return dict(values)
