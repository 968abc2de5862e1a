"""LoggerBase: where a run's metrics and messages go (local files, W&B, nowhere).

The trainer calls, in order: ``setup(runtime)`` → ``start(...)`` → ``log``/``message`` many times →
``finish(status)``. Only rank 0 gets a real logger in distributed runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from lca_core.api.components import Component

Split = Literal["train", "valid"]
#: One split's metric table: the column names (``iter_num`` first) and the rows as dicts.
MetricRows = tuple[list[str], list[dict[str, Any]]]


@attrs.define(kw_only=True)
class LoggerBase(Component):
    """Receives metrics per iteration and free-form messages; may keep state across resumes."""

    kind: ClassVar[str] = "logger"

    def start(self, *, resumed_from: int | None, state: dict[str, Any]) -> None:
        """Open outputs. ``resumed_from`` is the last iteration already done (None for a fresh run);
        ``state`` is what `state()` returned when the resumed checkpoint was written."""

    def log(self, split: Split, iteration: int, metrics: dict[str, float]) -> None:
        """Record one row of metrics for ``split`` at ``iteration``; never the same iteration twice."""

    def message(self, level: str, content: str | dict[str, Any]) -> None:
        """Record a message (level: DEBUG, INFO, WARNING, ERROR)."""

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state stored in each checkpoint (e.g. a W&B run id)."""
        return {}

    def finish(self, status: str) -> None:
        """Close outputs; ``status`` is "completed", "stopped" or "failed"."""

    def read_metrics(self, run_dir: Path) -> dict[str, MetricRows] | None:
        """What this logger recorded under ``run_dir``, by split (`lca-run plot` draws it); called on a
        logger built from the run's resolved table, without `setup`. None: it keeps nothing readable
        there (the default). Raise ValueError or OSError for a file it cannot read."""
        return None
