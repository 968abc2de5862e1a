"""Strict structuring of TOML tables into attrs classes, with every problem turned into a dotted path.

cattrs does the structuring; this module makes it strict (no ``"3"`` → 3 coercion, no unknown keys)
and translates its exception groups into `ConfigProblem` lines with a did-you-mean.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal, Union

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from lca_core.api.errors import ConfigError, ConfigProblem, ParamError, join_path, suggestion

_QUOTED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)'")
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "a boolean (true/false)"}


class StrictTypeError(TypeError):
    """A TOML value of the wrong type."""


def describe_type(tp: Any) -> str:
    """A human name for a type annotation: 'an integer', 'one of "a", "b"', 'a list of strings'."""
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    if tp is type(None):
        return "nothing (leave the key out)"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) if not isinstance(a, str) else f'"{a}"' for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in args if a is not type(None))
    if origin in (list, tuple, typing.Sequence) or tp is list:
        inner = describe_type(args[0]) if args else "values"
        return f"a list of {inner}"
    if origin is dict or tp is dict:
        return "a table"
    if attrs.has(tp):
        return "a table"
    return getattr(tp, "__name__", str(tp))


def _value_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _strict(tp: type):
    def hook(value, _):
        ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise StrictTypeError(f"expected {describe_type(tp)}, got {_value_repr(value)}")
        return value

    return hook


def make_converter() -> cattrs.Converter:
    """A cattrs converter that refuses unknown keys and silent type coercion."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for tp in (int, float, str, bool):
        converter.register_structure_hook(tp, _strict(tp))

    def is_union(tp):
        return typing.get_origin(tp) in (Union, types.UnionType)

    def structure_union(value, tp):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise StrictTypeError(f"expected {describe_type(tp)}, got nothing")
        # Prefer the member whose type matches exactly, so 3 stays an int in `int | float`.
        ordered = sorted((a for a in args if a is not type(None)), key=lambda a: a is not type(value))
        for arg in ordered:
            try:
                return converter.structure(value, arg)
            except Exception:
                continue
        raise StrictTypeError(f"expected {describe_type(tp)}, got {_value_repr(value)}")

    converter.register_structure_hook_func(is_union, structure_union)

    def is_literal(tp):
        return typing.get_origin(tp) is Literal

    def structure_literal(value, tp):
        if value not in typing.get_args(tp) or isinstance(value, bool) != any(
            isinstance(a, bool) for a in typing.get_args(tp) if a == value
        ):
            choices = [a for a in typing.get_args(tp) if isinstance(a, str)]
            hint = suggestion(value, choices) if isinstance(value, str) else ""
            raise StrictTypeError(f"expected {describe_type(tp)}, got {_value_repr(value)}{hint}")
        return value

    converter.register_structure_hook_func(is_literal, structure_literal)

    def is_plain_list(tp):
        return typing.get_origin(tp) is list


    def structure_list(value, tp):
        if not isinstance(value, list):
            raise StrictTypeError(f"expected {describe_type(tp)}, got {_value_repr(value)}")
        (inner,) = typing.get_args(tp) or (Any,)
        out, errors = [], []
        for index, item in enumerate(value):
            try:
                out.append(item if inner is Any else converter.structure(item, inner))
            except Exception as exc:
                exc.__notes__ = [*getattr(exc, "__notes__", []), _IndexNote(index)]
                errors.append(exc)
        if errors:
            raise IterableValidationError("list items failed", errors, tp)
        return out

    converter.register_structure_hook_func(is_plain_list, structure_list)

    def is_plain_dict(tp):
        return tp is dict or typing.get_origin(tp) is dict

    def structure_dict(value, tp):
        if not isinstance(value, dict):
            raise StrictTypeError(f"expected a table, got {_value_repr(value)}")
        args = typing.get_args(tp)
        if not args or args[1] is Any:
            return dict(value)
        return {k: converter.structure(v, args[1]) for k, v in value.items()}

    converter.register_structure_hook_func(is_plain_dict, structure_dict)

    def attrs_factory(cl):
        inner = make_dict_structure_fn(
            cl, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
        )

        def structure_attrs(value, _):
            if not isinstance(value, dict):
                raise StrictTypeError(f"expected a table, got {_value_repr(value)}")
            return inner(value, cl)

        return structure_attrs

    converter.register_structure_hook_factory(attrs.has, attrs_factory)
    return converter


class _IndexNote(str):
    """Marks which list index an error belongs to."""

    def __new__(cls, index: int):
        obj = super().__new__(cls, f"index {index}")
        obj.index = index
        return obj


CONVERTER = make_converter()


def structure(table: Any, cls: type, path: str = "") -> tuple[Any, list[ConfigProblem]]:
    """Structure ``table`` into ``cls``; return (object or None, problems with dotted paths)."""
    if not isinstance(table, dict) and attrs.has(cls):
        return None, [ConfigProblem(path, f"expected a table, got {_value_repr(table)}")]
    try:
        return CONVERTER.structure(table, cls), []
    except Exception as exc:  # every structuring failure becomes one or more problems
        problems: list[ConfigProblem] = []
        _collect(exc, path, problems, cls)
        return None, problems


def _collect(exc: BaseException, path: str, problems: list[ConfigProblem], cls: Any = None) -> None:
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = [f.name for f in attrs.fields(exc.cl) if f.init and not f.name.startswith("_")] if attrs.has(exc.cl) else []
        for key in sorted(exc.extra_fields):
            listing = f" (allowed: {', '.join(allowed)})" if allowed else " (this table takes no keys)"
            problems.append(ConfigProblem(join_path(path, key), f"unknown key{suggestion(key, allowed)}{listing}"))
        return
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        for sub in exc.exceptions:
            sub_path, sub_type = path, None
            for note in getattr(sub, "__notes__", []):
                if hasattr(note, "name") and hasattr(note, "type"):  # AttributeValidationNote
                    sub_path, sub_type = join_path(path, note.name), note.type
                elif isinstance(note, _IndexNote):
                    sub_path = join_path(path, note.index)
                elif hasattr(note, "index"):  # IterableValidationNote
                    sub_path = join_path(path, note.index)
            _collect(sub, sub_path, problems, sub_type)
        return
    if isinstance(exc, ParamError):
        problems.append(ConfigProblem(join_path(path, exc.key), exc.message))
        return
    if isinstance(exc, ConfigError):
        problems.extend(exc.prefixed(path).problems)
        return
    if isinstance(exc, (ValueError, TypeError)) and exc.args and isinstance(exc.args[0], str):
        match = _QUOTED_NAME.match(exc.args[0])  # attrs validators name their field first
        if match and not isinstance(exc, StrictTypeError):
            problems.append(ConfigProblem(join_path(path, match.group(1)), f"invalid value: {exc.args[0]}"))
            return
    if isinstance(exc, KeyError):
        problems.append(ConfigProblem(path, f"missing required key (expected {describe_type(cls)})"))
        return
    if isinstance(exc, StrictTypeError):
        problems.append(ConfigProblem(path, str(exc)))
        return
    message = str(exc) or type(exc).__name__
    problems.append(ConfigProblem(path, f"invalid value: {message}"))


def unstructure(obj: Any) -> Any:
    return CONVERTER.unstructure(obj)
