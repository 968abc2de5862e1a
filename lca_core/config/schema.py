"""The run file as one object: fixed tables plus the component tables chosen by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from lca_core.config.data import DataSection, SplitSection
from lca_core.config.model import ModelSection
from lca_core.config.sections import PluginsSection, RunSection
from lca_core.config.training import CheckpointingSection, TrainerSection


@attrs.define(kw_only=True)
class ComponentConfig:
    """A component table: the registered ``name``, the validated component and its parameters.

    ``instance`` is the component as validated from the run file (never set up): read parameters
    from it (``config.preprocessor.instance.max_seq_len``), typed and with their defaults filled in.
    ``params`` holds the same values as plain TOML data, for ``resolved.toml`` and fingerprints.
    """

    kind: str
    name: str
    params: dict[str, Any] = attrs.field(factory=dict)
    _instance: Any = attrs.field(default=None, eq=False, repr=False, alias="instance")

    @property
    def instance(self) -> Any:
        if self._instance is None:  # made from plain params (tests, old snapshots): validate them once
            self._instance = self._validate(None)
        return self._instance

    def build(self, runtime=None, *, manager=None):
        """A fresh component (the validated one re-initialised, so no two builds share state), set up
        with the runtime objects."""
        from lca_core.api.components import Runtime
        from lca_core.api.constructors import rebuilt

        obj = rebuilt(self._instance) if self._instance is not None else self._validate(manager)
        obj.setup(runtime or Runtime())
        return obj

    def _validate(self, manager) -> Any:
        from lca_core.api.components import build_params
        from lca_core.api.errors import ConfigError
        from lca_core.api.plugins import get_plugin_manager

        cls = (manager or get_plugin_manager()).registry(self.kind).load(self.name, path=f"{self.kind}.name")
        obj, problems = build_params(cls, self.params, self.kind)
        if problems:
            raise ConfigError(problems)
        return obj


#: fixed tables -> their classes; component tables -> (kind, default name)
FIXED_TABLES: dict[str, type] = {
    "run": RunSection,
    "model": ModelSection,
    "data": DataSection,
    "split": SplitSection,
    "trainer": TrainerSection,
    "checkpointing": CheckpointingSection,
    "plugins": PluginsSection,
}
COMPONENT_TABLES: dict[str, str] = {
    "composer": "path_distance",
    "preprocessor": "lm",
    "scheduler": "cosine_warmup",
    "logger": "local",
}
REQUIRED_TABLES = ("model", "data")
TABLE_ORDER = ("run", "model", "data", "split", "composer", "preprocessor", "trainer", "scheduler",
               "checkpointing", "logger", "plugins")


@attrs.define(kw_only=True)
class RunConfig:
    """A validated run file; ``source`` is where it was read from (not part of equality)."""

    run: RunSection
    model: ModelSection
    data: DataSection
    split: SplitSection
    composer: ComponentConfig
    preprocessor: ComponentConfig
    trainer: TrainerSection
    scheduler: ComponentConfig
    checkpointing: CheckpointingSection
    logger: ComponentConfig
    plugins: PluginsSection
    source: Path | None = attrs.field(default=None, eq=False)

    @property
    def base_dir(self) -> Path:
        """Relative paths in the run file are relative to its folder."""
        return self.source.parent if self.source is not None else Path.cwd()

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def run_name(self) -> str:
        if self.run.name:
            return self.run.name
        if self.source is None:
            return "run"
        if self.source.name == "run.toml":
            return self.source.resolve().parent.name
        return self.source.stem

    @property
    def run_dir(self) -> Path:
        if self.run.dir:
            return self.resolve_path(self.run.dir)
        if self.source is not None and self.source.name == "run.toml":
            return self.source.resolve().parent
        return Path.cwd() / "runs" / self.run_name
