"""The trainer's side of a checkpoint: what it writes for exact resume and how it reads it back.

A checkpoint holds the weights, the optimizer and gradient-scaler state, the RNG states and the loop's
position (`TrainerState`); `CheckpointManager` (checkpoint.py) owns the files. Under FSDP the weights and
optimizer state are sharded: every rank writes its shards into the checkpoint's folder while rank 0
writes the consolidated ``model/`` (so any world size and strategy can resume from it); in every other
case only rank 0 writes, the states being equal on every rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from lca_core.training.checkpoint import CONFIG_FILE, SHARDED_DIR, CheckpointManager
from lca_core.training.distributed import full_model_state, is_sharded, load_full_optimizer, load_sharded, save_sharded
from lca_core.training.faults import NonFiniteModel, nonfinite_model_message, nonfinite_tensors
from lca_core.training.state import TrainerState, capture_rng, restore_rng


@attrs.define(kw_only=True)
class Resume:
    """What a checkpoint hands the trainer: its state, optimizer/scaler state and RNG states."""

    path: Path
    state: TrainerState
    optim: dict[str, Any] | None
    rng: dict[str, Any] | None


def load_resume(path: Path) -> Resume:
    """Read a checkpoint for resuming (weights load separately, from ``model/``)."""
    state, optim = CheckpointManager.load_state(path)
    if state is None:  # a bare model directory: weights only, a fresh loop
        return Resume(path=path, state=TrainerState(), optim=None, rng=None)
    return Resume(path=path, state=TrainerState.from_dict(state["trainer"]), optim=optim, rng=state.get("rng"))


def save_checkpoint(trainer: Any, metrics: dict[str, Any]) -> Path:
    """Write checkpoint ``NNNN`` (NNNN = ``trainer.state.iteration``) from every rank's part; returns its path."""
    state = {"trainer": trainer.state.to_dict(), "rng": capture_rng()}
    checkpoints, dist, iteration = trainer.checkpoints, trainer.dist, trainer.state.iteration
    # a checkpoint is something to go back to: never one with NaN weights (one pass over them, per save)
    broken = nonfinite_tensors(trainer.model)
    if dist.all_reduce_sum([float(len(broken))])[0] > 0:
        raise NonFiniteModel(nonfinite_model_message(broken or ["(on another rank)"], f"after iteration {iteration}")
                             + f"; checkpoint {iteration:04d} was not written")
    if is_sharded(trainer.engine):  # FSDP: every rank writes its shards; rank 0 the consolidated model/
        model_state = full_model_state(trainer.engine)
        optim_state = {"scaler": trainer.scaler.state_dict()}

        def write_shards(folder: Path) -> None:
            dist.barrier()  # rank 0 made the folder: now everyone writes into it
            save_sharded(trainer.engine, trainer.optimizer, folder / SHARDED_DIR)

        if not dist.is_main:
            write_shards(checkpoints.partial_dir(iteration))
    else:
        model_state, write_shards = None, None
        optim_state = {"optimizer": trainer.optimizer.state_dict(), "scaler": trainer.scaler.state_dict()}
    path = checkpoints.final_dir(iteration)
    if dist.is_main:  # only rank 0 writes files (the states are equal, or gathered above)
        path = checkpoints.save(iteration, model=trainer.model, tokenizer=trainer.tokenizer, optim_state=optim_state,
                                state=state, metrics=metrics, model_state=model_state, write_shards=write_shards,
                                records=records(trainer))
    dist.barrier()
    return path


def records(trainer: Any) -> dict[str, str]:
    """What a checkpoint keeps for resume to compare with (training/changes.py): the resolved configuration
    and the training data's fingerprint, where known."""
    from lca_core.training.changes import FINGERPRINT_FILE

    out = {}
    if getattr(trainer, "config_record", None):
        out[CONFIG_FILE] = trainer.config_record
    if getattr(trainer, "data_fingerprint", None):
        out[FINGERPRINT_FILE] = trainer.data_fingerprint
    return out


def restore(trainer: Any, resume: Resume) -> None:
    """Put the checkpoint's optimizer, scaler and RNG states into ``trainer`` (its weights are loaded already)."""
    trainer.state = resume.state
    trainer.resumed_from = resume.state.iteration if resume.optim is not None else None
    if resume.optim is not None:
        try:
            if (resume.path / SHARDED_DIR).is_dir():  # written by FSDP: resharded to this run's layout
                load_sharded(trainer.engine, trainer.optimizer, resume.path / SHARDED_DIR)
            elif is_sharded(trainer.engine):
                load_full_optimizer(trainer.engine, trainer.optimizer, resume.optim["optimizer"])
            else:
                trainer.optimizer.load_state_dict(resume.optim["optimizer"])
            if resume.optim.get("scaler"):
                trainer.scaler.load_state_dict(resume.optim["scaler"])
        except (ValueError, KeyError, RuntimeError) as exc:
            from lca_core.api.errors import RunError

            raise RunError(f"the optimizer state of checkpoint {resume.path} does not fit this model "
                           f"({exc}); start from a checkpoint of this model, or set "
                           "checkpointing.init_from = \"scratch\"") from None
    if resume.rng is not None:
        restore_rng(resume.rng)
