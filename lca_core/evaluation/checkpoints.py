"""Which weights to evaluate: the base model of [model], or a checkpoint of the run (best, last, a path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from lca_core.api.errors import RunError


@attrs.frozen
class ModelChoice:
    """A label for tables (``base``, ``best (0150)``) and the model directory to load, None for [model] itself."""

    label: str
    model_dir: Path | None


def _manager(config: Any):
    from lca_core.training.checkpoint import CheckpointManager

    section = config.checkpointing
    return CheckpointManager(config.run_dir / "checkpoints", main_metric=section.main_metric, mode=section.mode)


def resolve_checkpoint(config: Any, spec: str) -> ModelChoice:
    """``base`` | ``best`` | ``last`` | a checkpoint directory (or its ``model/``), for --checkpoint."""
    if spec == "base":
        return ModelChoice("base", None)
    if spec in ("best", "last"):
        manager = _manager(config)  # the trainer's own reading of checkpoints and their scores
        chosen = manager.best() if spec == "best" else manager.latest()
        if chosen is None:
            raise RunError(f"--checkpoint {spec}: no checkpoint in {manager.root} "
                           "(train first, or use --checkpoint base)")
        return ModelChoice(f"{spec} ({chosen.name})", chosen / "model")
    path = Path(spec).expanduser()
    for candidate in (path / "model", path):
        if (candidate / "config.json").exists():
            return ModelChoice(str(spec), candidate)
    raise RunError(f"--checkpoint {spec}: not base, best, last, or a directory holding a saved model "
                   f"(config.json in it or in its model/ folder)")


def default_checkpoint(config: Any) -> str:
    """What ``lca-run eval`` evaluates when no --checkpoint is given: the best checkpoint, else the base model."""
    return "best" if _manager(config).complete() else "base"
