"""Which weights to evaluate: the base model of [model], or a checkpoint of the run (best, last, a path)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs

from lca_core.errors import RunError


@attrs.frozen
class ModelChoice:
    """A label for tables (``base``, ``best (0150)``) and the model directory to load, None for [model] itself."""

    label: str
    model_dir: Path | None


def _checkpoint_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit() and (p / "model").is_dir()),
                  key=lambda p: int(p.name))


def _score(directory: Path, metric: str, mode: str) -> float:
    """The checkpoint's main metric (validation, else training), oriented so that lower is better."""
    try:
        data = json.loads((directory / "metrics.json").read_text())
    except (OSError, ValueError):
        return math.inf
    for section in ("valid_metrics", "train_metrics"):
        value = (data.get(section) or {}).get(metric)
        if isinstance(value, (int, float)) and not math.isnan(value):
            return -value if mode == "max" else value
    return math.inf


def resolve_checkpoint(config: Any, spec: str) -> ModelChoice:
    """``base`` | ``best`` | ``last`` | a checkpoint directory (or its ``model/``), for --checkpoint."""
    if spec == "base":
        return ModelChoice("base", None)
    root = config.run_dir / "checkpoints"
    if spec in ("best", "last"):
        found = _checkpoint_dirs(root)
        if not found:
            raise RunError(f"--checkpoint {spec}: no checkpoint in {root} (train first, or use --checkpoint base)")
        if spec == "last":
            chosen = found[-1]
        else:
            metric, mode = config.checkpointing.main_metric, config.checkpointing.mode
            chosen = min(found, key=lambda p: (_score(p, metric, mode), -int(p.name)))
        return ModelChoice(f"{spec} ({chosen.name})", chosen / "model")
    path = Path(spec).expanduser()
    for candidate in (path / "model", path):
        if (candidate / "config.json").exists():
            return ModelChoice(str(spec), candidate)
    raise RunError(f"--checkpoint {spec}: not base, best, last, or a directory holding a saved model "
                   f"(config.json in it or in its model/ folder)")


def default_checkpoint(config: Any) -> str:
    """What ``lca-run eval`` evaluates when no --checkpoint is given: the best checkpoint, else the base model."""
    return "best" if _checkpoint_dirs(config.run_dir / "checkpoints") else "base"
