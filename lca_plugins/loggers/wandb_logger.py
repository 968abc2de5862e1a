"""The ``wandb`` logger: everything the ``local`` logger writes, plus a Weights & Biases run.

The W&B run id is stored in every checkpoint (`state()`), so a resumed training run continues the
same W&B run (``resume="allow"``) instead of starting a new one. ``wandb`` is imported only when a
run starts, so listing and describing loggers never imports it.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path
from typing import Any, Literal

import attrs

from lca_core.api.components import Runtime, param
from lca_core.api.errors import RunError
from lca_core.api.loggers import Split
from lca_plugins.loggers.local import LocalLogger
from lca_core.redact import redact

STATE_KEY = "wandb_run_id"


def new_run_id(run_name: str) -> str:
    """A fresh W&B run id: the run name (made id-safe) and 8 random hex digits, so reruns never collide."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", run_name).strip("-.")[:48] or "run"
    return f"{stem}-{secrets.token_hex(4)}"


@attrs.define(kw_only=True)
class WandbLogger(LocalLogger):
    """The local logger's files, and the same metrics sent to a W&B run stored under ``<run_dir>/wandb/``."""

    project: str = param("lca-pipeline", doc="W&B project.")
    entity: str = param("", doc="W&B entity (team or user); empty = your default entity.")
    group: str = param("", doc="W&B group, e.g. to gather the runs of one comparison; empty = none.")
    notes: str = param("", doc="Free-text notes shown on the W&B run page.")
    tags: list[str] = param(factory=list, doc="W&B tags.")
    mode: Literal["auto", "online", "offline", "disabled"] = param(
        "auto",
        doc='online, offline (sync later with `wandb sync`), disabled, or auto: the WANDB_MODE '
        "environment variable, else online.",
    )

    _run: Any = attrs.field(default=None, init=False, eq=False, repr=False)
    _run_id: str = attrs.field(default="", init=False, eq=False, repr=False)
    _run_name: str = attrs.field(default="run", init=False, eq=False, repr=False)
    _config: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    _first_step: int = attrs.field(default=0, init=False, eq=False, repr=False)

    def setup(self, runtime: Runtime) -> None:
        super().setup(runtime)
        config = runtime.config
        if config is not None and not isinstance(config, dict):
            from lca_core.config.loader import config_to_dict

            self._run_name = config.run_name
            config = config_to_dict(config)
        else:  # a plain dict (a resolved.toml read back, or a test): its [run] name, else the folder's
            fallback = Path(runtime.run_dir).name if runtime.run_dir is not None else "run"
            self._run_name = str(((config or {}).get("run") or {}).get("name") or fallback)
        self._config = dict(config or {})

    def start(self, *, resumed_from: int | None, state: dict[str, Any]) -> None:
        super().start(resumed_from=resumed_from, state=state)
        if not self._active:
            return
        import wandb

        previous_id = state.get(STATE_KEY) if resumed_from is not None else None
        self._run_id = previous_id or new_run_id(self._run_name)
        assert self._run_dir is not None
        try:
            self._run = wandb.init(
                project=self.project,
                entity=self.entity or None,
                group=self.group or None,
                notes=self.notes or None,
                tags=list(self.tags) or None,
                name=self._run_name,
                id=self._run_id,
                resume="allow" if previous_id else None,
                mode=None if self.mode == "auto" else self.mode,
                dir=str(self._run_dir),
                config=redact(self._config),
                # Messages already go to logs/*.json; wrapping sys.stdout would fight the progress bar.
                settings=wandb.Settings(console="off", silent=True, save_code=False),
            )
        except Exception as exc:
            self.finish("failed")
            raise RunError(
                f"W&B could not start the run ({type(exc).__name__}: {exc}). Log in with `wandb login`, "
                'or set logger.mode = "offline" (sync later with `wandb sync`), or use logger.name = "local"'
            ) from exc
        # A resumed online run continues after the last step W&B already has; older ones would be refused.
        self._first_step = int(self._run.step or 0) if previous_id else 0
        if self._run.disabled:
            where = "disabled, nothing is sent"
        elif self._run.offline:
            where = f"offline in {self._run.settings.sync_dir} (upload it with `wandb sync`)"
        else:
            where = self._run.url
        action = "resumed" if previous_id else "started"
        self.message("INFO", f"W&B run {self._run_id} {action}: {where}")
        print(f"lca-run: W&B run '{self._run_name}' ({self._run_id}) {action}: {where}", file=sys.stderr)

    def log(self, split: Split, iteration: int, metrics: dict[str, float]) -> None:
        super().log(split, iteration, metrics)
        if self._run is None or iteration < self._first_step:
            return
        values = {f"{split}/{name}": _plain(value) for name, value in metrics.items()}
        self._run.log(values, step=iteration)

    def state(self) -> dict[str, Any]:
        return {STATE_KEY: self._run_id} if self._run_id else {}

    def finish(self, status: str) -> None:
        run, self._run = self._run, None
        if run is not None:
            try:
                run.finish(exit_code=0 if status == "completed" else 1)
            except Exception as exc:  # the local files are complete; W&B trouble must not hide that
                self.message("WARNING", f"W&B run {self._run_id} did not finish cleanly: {exc}")
        super().finish(status)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and callable(value.item) else value
