"""Checkpoints: atomic ``checkpoints/NNNN/`` directories, choosing where to start (init_from), keeping the top k.

A checkpoint directory is written under ``checkpoints/.NNNN.tmp``, every file fsynced, then renamed, so a
crash mid-save leaves only a hidden ``.tmp`` folder that nothing reads (and the next save removes). Its
last file is ``manifest.json``: the size and SHA-256 of every other file. A checkpoint is complete only
when its manifest is there and every file it lists is present with that size (and, for the one a run
resumes from, that hash); a folder that is not — a file deleted or cut short later, a copy that stopped
half-way — is reported and skipped, and the previous complete checkpoint is used.

Layout of ``NNNN/`` (NNNN = optimizer steps done):
  metrics.json   {iteration_number, train_metrics, valid_metrics}
  config.toml    the run's resolved configuration when the checkpoint was written (resume compares it)
  data.sha256    a fingerprint of the training datapoints (training/changes.py)
  manifest.json  {format, files: {relative path: {size, sha256}}}: written last
  model/         save_pretrained + the tokenizer
  optim.pt       optimizer and gradient-scaler state
  state.pt       TrainerState (iteration, sampler position, logger state) and RNG states
  sharded/       FSDP runs only: weights and optimizer state as torch.distributed.checkpoint shards
                 (optim.pt then holds just the scaler); any world size and strategy can resume from it
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

from lca_core.api.errors import ConfigError, ConfigProblem, RunError

_NAME = re.compile(r"^\d{4,}$")
MODEL_DIR = "model"
OPTIM_FILE = "optim.pt"
STATE_FILE = "state.pt"
METRICS_FILE = "metrics.json"
SHARDED_DIR = "sharded"
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.toml"
#: files every checkpoint has, beside the model folder
REQUIRED = (OPTIM_FILE, STATE_FILE, METRICS_FILE, f"{MODEL_DIR}/config.json")


def write_manifest(root: Path) -> None:
    """fsync every file of ``root`` while hashing it, then write and fsync ``manifest.json`` (the last file)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256(path, fsync=True)}
    for folder in sorted({p.parent for p in root.rglob("*")} | {root}, key=lambda p: len(p.parts), reverse=True):
        _fsync_dir(folder)
    manifest = root / MANIFEST_FILE
    with open(manifest, "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "files": files}, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(root)


def _sha256(path: Path, *, fsync: bool = False) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
        if fsync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


def checkpoint_problem(path: Path, *, hashes: bool = False) -> str | None:
    """Why checkpoint folder ``path`` is not complete (None when it is): a missing manifest, a file it lists
    missing or of another size, or with ``hashes`` another content."""
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        files = manifest["files"]
        assert isinstance(files, dict)
    except FileNotFoundError:
        return f"it has no {MANIFEST_FILE} (its save did not finish, or it was not written by lca-run)"
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        return f"its {MANIFEST_FILE} cannot be read ({type(exc).__name__})"
    for name in REQUIRED:
        if name not in files:
            return f"its {MANIFEST_FILE} does not list {name}"
    for name, entry in files.items():
        file = path / name
        try:
            size = file.stat().st_size
        except OSError:
            return f"{name} is missing"
        if size != entry.get("size"):
            return f"{name} has {size} bytes, its manifest says {entry.get('size')}"
        if hashes and _sha256(file) != entry.get("sha256"):
            return f"{name} differs from what was saved (SHA-256 mismatch)"
    return None


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

    def folders(self) -> list[Path]:
        """Every ``NNNN`` folder, complete or not, oldest first (hidden .tmp folders never count)."""
        if not self.root.is_dir():
            return []
        return sorted((p for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name)), key=lambda p: int(p.name))

    def complete(self) -> list[Path]:
        """Complete checkpoint directories (manifest present, every file there with its size), oldest first."""
        return [p for p in self.folders() if checkpoint_problem(p) is None]

    def incomplete(self) -> list[tuple[Path, str]]:
        """(folder, why) of every ``NNNN`` folder that is not a complete checkpoint."""
        return [(p, why) for p in self.folders() if (why := checkpoint_problem(p)) is not None]

    def latest(self) -> Path | None:
        done = self.complete()
        return done[-1] if done else None

    def latest_verified(self) -> Path | None:
        """The newest complete checkpoint whose files also match their hashes; every one passed over is
        reported (a warning) with the reason."""
        for path, why in self.incomplete():
            warnings.warn(f"checkpoint {path} is incomplete: {why}; it is not used (an earlier complete one is)",
                          stacklevel=2)
        for path in reversed(self.complete()):
            why = checkpoint_problem(path, hashes=True)
            if why is None:
                return path
            warnings.warn(f"checkpoint {path} is damaged: {why}; it is not used (an earlier complete one is)",
                          stacklevel=2)
        return None

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
            return self.latest_verified()
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
        if any((path / name).exists() for name in (MANIFEST_FILE, STATE_FILE, OPTIM_FILE, METRICS_FILE)):
            why = checkpoint_problem(path, hashes=True)  # a checkpoint, not a bare model folder: whole, or refused
            if why is not None:
                raise ConfigError([ConfigProblem("checkpointing.init_from", f"checkpoint {path} is incomplete: {why}; "
                                                                            "choose another checkpoint")])
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
                import pickle

                # torch's refusal runs to a dozen lines of advice to load unsafely: one line, and no such advice
                why = ("it holds Python objects that safe loading (weights_only) refuses — no code from it ran"
                       if isinstance(exc, pickle.UnpicklingError) else
                       f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}")
                raise RunError(f"cannot read {file}: {why}; the checkpoint is damaged or not from lca-run — start "
                               "from another one (checkpointing.init_from)") from None

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
             write_shards: Any = None, records: dict[str, str] | None = None) -> Path:
        """Write checkpoint ``iteration``. Distributed FSDP runs pass the gathered ``model_state`` and
        ``write_shards(folder)``, which every rank runs at the same time to write its shards into the folder;
        ``records`` are text files to keep beside them (name → text)."""
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
            for name, text in (records or {}).items():  # small text files: the configuration, the data fingerprint
                (tmp / name).write_text(text, encoding="utf-8")
            (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2, allow_nan=True), encoding="utf-8")
            write_manifest(tmp)  # last: a folder without it is never taken for a checkpoint
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
