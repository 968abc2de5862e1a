"""Checkpoints: atomic ``checkpoints/NNNN/`` directories, choosing where to start (init_from), keeping the top k.

A checkpoint directory is written under ``checkpoints/.NNNN.tmp``, every file fsynced, then renamed:
a directory named ``NNNN`` is therefore always complete, and a crash mid-save leaves only a hidden
``.tmp`` folder that nothing reads (and the next save removes).

Layout of ``NNNN/`` (NNNN = optimizer steps done):
  metrics.json   {iteration_number, train_metrics, valid_metrics}
  model/         save_pretrained + the tokenizer
  optim.pt       optimizer and gradient-scaler state
  state.pt       TrainerState (iteration, sampler position, logger state) and RNG states
  sharded/       FSDP runs only: weights and optimizer state as torch.distributed.checkpoint shards
                 (optim.pt then holds just the scaler); any world size and strategy can resume from it
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

from lca_core.api.errors import ConfigError, ConfigProblem, RunError

_NAME = re.compile(r"^\d{4,}$")
MODEL_DIR = "model"
OPTIM_FILE = "optim.pt"
STATE_FILE = "state.pt"
METRICS_FILE = "metrics.json"
SHARDED_DIR = "sharded"


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some filesystems cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointManager:
    """Reads and writes the checkpoints of one run directory."""

    def __init__(self, root: Path, *, main_metric: str = "cross_entropy", mode: str = "min", top_k: int = 0):
        self.root = Path(root)
        self.main_metric = main_metric
        self.mode = mode
        self.top_k = top_k

    # --- reading --------------------------------------------------------------------------------

    def complete(self) -> list[Path]:
        """Finished checkpoint directories, oldest first (hidden .tmp folders never count)."""
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name) and (p / METRICS_FILE).exists()]
        return sorted(found, key=lambda p: int(p.name))

    def latest(self) -> Path | None:
        done = self.complete()
        return done[-1] if done else None

    def score(self, path: Path) -> float:
        """The main metric of a checkpoint (validation, else training), oriented so lower is better."""
        data = json.loads((path / METRICS_FILE).read_text(encoding="utf-8"))
        if self.main_metric in ("epoch", "iteration"):
            return -float(data["iteration_number"])  # keep the latest
        value = (data.get("valid_metrics") or {}).get(self.main_metric)
        if value is None:
            value = (data.get("train_metrics") or {}).get(self.main_metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.inf
        return float(value) if self.mode == "min" else -float(value)

    def best(self) -> Path | None:
        done = self.complete()
        return min(done, key=lambda p: (self.score(p), -int(p.name))) if done else None

    def resolve_init(self, init_from: str, resolve_path) -> Path | None:
        """The directory ``init_from`` names: None for scratch (or resume with nothing saved yet)."""
        if init_from == "scratch":
            return None
        if init_from == "resume":
            return self.latest()
        if init_from == "best":
            best = self.best()
            if best is None:
                raise RunError(f"checkpointing.init_from = \"best\", but {self.root} has no checkpoint; "
                               "use \"scratch\" or \"resume\"")
            return best
        path = resolve_path(init_from)
        if not path.exists():
            raise ConfigError([ConfigProblem("checkpointing.init_from", f"'{init_from}' is none of scratch, resume, best, "
                                                                        f"and no such directory exists ({path})")])
        return path

    @staticmethod
    def model_dir(path: Path) -> Path:
        """The Hugging Face model folder of a checkpoint (or ``path`` itself when it is one)."""
        return path / MODEL_DIR if (path / MODEL_DIR).is_dir() else path

    @staticmethod
    def load_state(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(state.pt, optim.pt) contents, or None where the folder has none (a bare model directory)."""
        import torch

        def load(name: str) -> dict[str, Any] | None:
            file = path / name
            if not file.exists():
                return None
            try:
                return torch.load(file, map_location="cpu", weights_only=True)
            except Exception as exc:
                raise RunError(f"cannot read {file}: {type(exc).__name__}: {exc}; the checkpoint is damaged or "
                               "not from lca-run — start from another one (checkpointing.init_from)") from None

        return load(STATE_FILE), load(OPTIM_FILE)

    # --- writing --------------------------------------------------------------------------------

    def clean_partial(self) -> None:
        """Remove what a crash during saving left behind."""
        if self.root.is_dir():
            for path in self.root.glob(".*.tmp"):
                shutil.rmtree(path, ignore_errors=True)

    def final_dir(self, iteration: int) -> Path:
        return self.root / f"{iteration:04d}"

    def partial_dir(self, iteration: int) -> Path:
        """Where checkpoint ``iteration`` is written before its atomic rename."""
        return self.root / f".{iteration:04d}.tmp"

    def save(self, iteration: int, *, model: Any, tokenizer: Any, optim_state: dict[str, Any],
             state: dict[str, Any], metrics: dict[str, Any], model_state: dict[str, Any] | None = None,
             write_shards: Any = None) -> Path:
        """Write checkpoint ``iteration``. Distributed FSDP runs pass the gathered ``model_state`` and
        ``write_shards(folder)``, which every rank runs at the same time to write its shards into the folder."""
        import torch

        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_partial()
        final = self.final_dir(iteration)
        tmp = self.partial_dir(iteration)
        try:
            tmp.mkdir()
            if write_shards is not None:
                write_shards(tmp)
            model.save_pretrained(tmp / MODEL_DIR, **({"state_dict": model_state} if model_state is not None else {}))
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp / MODEL_DIR)
            torch.save(optim_state, tmp / OPTIM_FILE)
            torch.save(state, tmp / STATE_FILE)
            # metrics.json last: complete() also requires it, a second guard besides the rename
            (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2, allow_nan=True), encoding="utf-8")
            _fsync_tree(tmp)
        except Exception as exc:
            # A full disk surfaces as OSError, SafetensorError or torch's "unexpected pos" RuntimeError:
            # whatever it is, free the space the partial copy took and keep the complete checkpoints.
            from lca_core.training.faults import disk_error

            error = disk_error(exc, final.name, self.root, self.latest())  # free space measured before the cleanup
            shutil.rmtree(tmp, ignore_errors=True)
            raise error from exc
        if final.exists():  # the same iteration saved again (e.g. a scratch run over an old one)
            old = self.root / f".{final.name}.old.tmp"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(self.root)
        self.prune()
        return final

    def prune(self) -> list[Path]:
        """Keep the ``top_k`` best checkpoints and always the latest (so resume never loses progress)."""
        if self.top_k <= 0:
            return []
        done = self.complete()
        latest = done[-1] if done else None
        ranked = sorted(done, key=lambda p: (self.score(p), -int(p.name)))
        removed = [p for p in ranked[self.top_k:] if p != latest]
        for path in removed:
            # rename first: a half-deleted folder must not look like a checkpoint
            doomed = self.root / f".{path.name}.del.tmp"
            os.replace(path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        return removed
