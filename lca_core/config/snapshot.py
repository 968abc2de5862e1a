"""The run directory's record of its configuration: configs/run.toml (as given) and configs/resolved.toml.

The resolved file names the run, its directory and every local path absolutely, so it can be run
from anywhere and loading it back gives the same configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from lca_core.config.loader import config_to_dict, dump_toml
from lca_core.config.schema import RunConfig


def resolved(config: RunConfig) -> RunConfig:
    """A copy with run name/dir filled in and relative local paths made absolute."""

    def local(value: str) -> str:
        if not value:
            return value
        path = config.resolve_path(value)
        return str(path.resolve()) if path.exists() else value

    return attrs.evolve(
        config,
        run=attrs.evolve(config.run, name=config.run_name, dir=str(config.run_dir.resolve())),
        data=attrs.evolve(config.data, path=local(config.data.path), valid_path=local(config.data.valid_path)),
        model=attrs.evolve(config.model, name_or_path=local(config.model.name_or_path),
                           tokenizer=local(config.model.tokenizer)),
        plugins=attrs.evolve(config.plugins, modules=[local(m) for m in config.plugins.modules]),
    )


def resolved_toml(config: RunConfig) -> str:
    return dump_toml(config_to_dict(resolved(config)))


def write_config_snapshot(config: RunConfig, run_dir: Path) -> Path:
    """Write both files atomically; return the configs folder."""
    folder = Path(run_dir) / "configs"
    folder.mkdir(parents=True, exist_ok=True)
    if config.source is not None and config.source.exists():
        atomic_write_text(folder / "run.toml", config.source.read_text(encoding="utf-8"))
    atomic_write_text(folder / "resolved.toml", resolved_toml(config))
    return folder


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
