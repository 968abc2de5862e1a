"""Validators for the numbers and paths of the fixed tables: wrong values fail at load (so in ``lca-run check``)
with exit 2 and their dotted key, not hours later as an internal error.

Each is an attrs validator: ``param(1, doc="...", validator=at_least(1))``.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any, Callable

from lca_core.api.errors import ParamError

#: numpy's and the samplers' seeds are 32-bit
SEED_MAX = 2**32 - 1
#: an architecture size beyond this is a typo, not a model (1e11 hidden units would ask for exabytes)
SIZE_MAX = 2**20


def at_least(low: float) -> Callable[[Any, Any, Any], None]:
    """A whole or real number ≥ ``low`` (NaN and infinity refused)."""

    def check(instance: Any, attribute: Any, value: Any) -> None:
        _finite(attribute.name, value)
        if value < low:
            raise ParamError(attribute.name, f"must be ≥ {low}, got {value}")

    return check


def between(low: float, high: float, *, high_open: bool = False) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        _finite(attribute.name, value)
        if value < low or value > high or (high_open and value == high):
            raise ParamError(attribute.name, f"must be in [{low}, {high}{')' if high_open else ']'}, got {value}")

    return check


def seed(instance: Any, attribute: Any, value: Any) -> None:
    if not 0 <= value <= SEED_MAX:
        raise ParamError(attribute.name, f"must be a whole number from 0 to {SEED_MAX} (2**32 - 1), got {value}")


def path_text(instance: Any, attribute: Any, value: Any) -> None:
    """A path or name: no NUL character (the OS refuses it)."""
    if "\0" in value:
        raise ParamError(attribute.name, "must not contain a NUL character (\\0)")


def run_name(instance: Any, attribute: Any, value: Any) -> None:
    """A run name is one folder name under the runs folder: never a path out of it."""
    path_text(instance, attribute, value)
    if value and (PurePath(value).is_absolute() or "/" in value or "\\" in value or value in (".", "..")):
        raise ParamError(attribute.name, f"must be a plain name (a folder under runs/), got '{value}'; to train "
                                         "somewhere else set run.dir")


def model_config(instance: Any, attribute: Any, value: dict[str, Any]) -> None:
    """[model.config] overrides: finite numbers; sizes and counts whole, positive and not absurd."""
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            continue
        if not math.isfinite(item):
            raise ParamError(f"{attribute.name}.{key}", f"must be a finite number, got {item}")
        if key.endswith(("_size", "_layers", "_heads", "_embeddings")) or key.startswith("num_"):
            if item != int(item) or not 0 < item <= SIZE_MAX:
                raise ParamError(f"{attribute.name}.{key}", f"must be a whole number from 1 to {SIZE_MAX}, got {item}")


def _finite(name: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(name, f"must be a finite number, got {value}")
