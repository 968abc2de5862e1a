"""Run configurations and dataset files for the data tests (no dependency on other components)."""

from __future__ import annotations

import json
from pathlib import Path

from lca_core.config.data import DataSection, SplitSection
from lca_core.config.model import ModelSection
from lca_core.config.schema import ComponentConfig, RunConfig
from lca_core.config.sections import PluginsSection, RunSection
from lca_core.config.training import CheckpointingSection, TrainerSection


def make_config(run_dir: Path, split: dict | None = None, **data) -> RunConfig:
    """A RunConfig whose run file would live in ``run_dir``; only [data] and [split] matter here."""
    return RunConfig(
        run=RunSection(),
        model=ModelSection(name_or_path="unused"),
        data=DataSection(**data),
        split=SplitSection(**(split or {})),
        composer=ComponentConfig(kind="composer", name="unused"),
        preprocessor=ComponentConfig(kind="preprocessor", name="unused"),
        trainer=TrainerSection(),
        scheduler=ComponentConfig(kind="scheduler", name="unused"),
        checkpointing=CheckpointingSection(),
        logger=ComponentConfig(kind="logger", name="unused"),
        plugins=PluginsSection(),
        source=Path(run_dir) / "run.toml",
    )


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
