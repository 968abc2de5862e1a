"""What the trainer does when a run goes wrong: stop signals, non-finite losses, out of memory, blame.

Each fault ends in a one-line `RunError` that says what happened, where (iteration, datapoints,
plugin) and what to do, after the trainer has saved what it can (docs/reliability.md).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

from lca_core.api.errors import RunError

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: at most this many datapoint ids are named in a message
SHOWN_IDS = 8


class RunStopped(RunError):
    """The run was stopped by a signal; the exit code is 128 + the signal number (130 Ctrl-C, 143 SIGTERM)."""

    prefix = "stopped"

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class StopNow(KeyboardInterrupt):
    """A second stop signal: leave at once. A KeyboardInterrupt, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(f"{signal.Signals(signum).name} again: stopped at once, nothing saved since the last checkpoint")
        self.signum = signum


class StoppedDuringStartup(KeyboardInterrupt):
    """SIGTERM before training began: nothing to save; the CLI prints it and exits 143."""

    def __init__(self, signum: int):
        super().__init__(f"{signal.Signals(signum).name} during start-up: stopped before the first step, nothing "
                         "was saved or changed; run the same command again to start")
        self.signum = signum


def stop_during_startup() -> None:
    """Until training installs its own handlers (`StopSignals`), SIGTERM stops with a message (Ctrl-C already
    does: Python raises KeyboardInterrupt)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _startup_signal)


def _startup_signal(signum: int, frame: Any) -> None:
    raise StoppedDuringStartup(signum)


class NonFiniteLoss(RunError):
    """A step's loss was NaN or infinite under ``[trainer] on_nonfinite = "stop"``."""


class NonFiniteModel(RunError):
    """The model's weights or buffers, or the optimizer's settings, are NaN or infinite: no step or checkpoint
    may use them; skipping steps cannot help, so this stops the run under either ``on_nonfinite`` policy."""


def nonfinite_tensors(model: Any) -> list[str]:
    """Names of the model's parameters and buffers holding a NaN or an infinity (each rank checks its shards)."""
    import torch

    bad = []
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor  # an FSDP shard
        if local.numel() and local.is_floating_point():
            low, high = torch.aminmax(local.detach())  # no full-size temporary; NaN and ±inf show here
            if not (bool(torch.isfinite(low)) and bool(torch.isfinite(high))):
                bad.append(name)
    return bad


def nonfinite_model_message(names: list[str], when: str) -> str:
    shown = ", ".join(names[:SHOWN_IDS]) + (f" and {len(names) - SHOWN_IDS} more" if len(names) > SHOWN_IDS else "")
    return (f"the model holds NaN or infinite values {when}: {shown}. This comes from the settings, not the data: "
            "check trainer.learning_rate, trainer.weight_decay, the scheduler and [model.config] (e.g. rope_theta)")


def check_optimizer_settings(optimizer: Any, iteration: int) -> None:
    """Refuse a step whose learning rate, weight decay or betas are not finite (a scheduler plugin's output,
    say): AdamW would write NaN into every weight."""
    import math

    for group in optimizer.param_groups:
        for key in ("lr", "weight_decay", "betas", "eps"):
            values = group.get(key, ())
            for value in values if isinstance(values, (tuple, list)) else (values,):
                if not math.isfinite(float(value)) or float(value) < 0:
                    raise NonFiniteModel(f"the optimizer's {key} is {value} at iteration {iteration}; it would make "
                                         "every weight NaN, so the step was not taken. Check trainer.learning_rate, "
                                         "trainer.weight_decay, trainer.beta_1/beta_2 and the scheduler")


class CheckpointWriteError(RunError):
    """A checkpoint could not be written (full disk, quota, permissions); the previous ones are intact."""


class StopSignals:
    """While active, SIGTERM/SIGINT ask the loop to stop at the next step boundary; a second one stops at once.

    Only the main thread can own signal handlers; elsewhere (a test's worker thread) this does nothing.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # the second signal: no more waiting for the step to end
            raise StopNow(signum)
        self.signum = signum
        print(f"lca-run: {signal.Signals(signum).name} received: stopping after this step, with a checkpoint "
              "(send it again to stop at once)", file=sys.stderr, flush=True)

    def stopped(self, iteration: int, max_iters: int, checkpoint: Path, command: str | None) -> RunStopped:
        """``command``: what continues the run, with the overrides it was started with (cli/train.py)."""
        name = signal.Signals(self.signum).name
        return RunStopped(f"{name}: stopped after iteration {iteration} of {max_iters}, checkpoint {checkpoint} "
                          f"saved; to continue, run `{command or 'lca-run RUN.toml'}` again "
                          "(checkpointing.init_from = \"resume\")", self.signum)


def datapoint_ids(data: Any, indices: list[int]) -> list[str]:
    """``repo:completion file`` of the datapoints at ``indices`` (``row i`` when the data has no such columns)."""
    columns = getattr(data, "column_names", None) or []
    if "repo" in columns and "completion_file" in columns and hasattr(data, "with_format"):
        # without the composer transform and without the (large) snapshots
        rows = data.with_format(None).select_columns(["repo", "completion_file"])
        return [f"{rows[i]['repo']}:{rows[i]['completion_file']['filename']}" for i in indices]
    return [f"row {i}" for i in indices]


def nonfinite_message(what: str, iteration: int, ids: list[str]) -> str:
    """``what``: e.g. ``loss (nan)`` or ``gradient norm (inf)``."""
    shown = ", ".join(dict.fromkeys(ids[:SHOWN_IDS])) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
    return (f"non-finite {what} at iteration {iteration}; its batch held the datapoints {shown}. "
            "Check these datapoints and the learning rate, or set [trainer] on_nonfinite = \"skip\" to drop "
            "such steps")


def out_of_memory(exc: BaseException, *, phase: str, iteration: int, shape: tuple[int, int], trainer: Any,
                  gradient_checkpointing: bool) -> RunError:
    """A RunError for CUDA OOM naming the batch shape and the settings that need less memory."""
    rows, length = shape
    micro, accum = trainer.micro_batch_size, trainer.gradient_accumulation_steps
    fixes = []
    if phase == "training" and not gradient_checkpointing:
        fixes.append("model.gradient_checkpointing = true (about 20% slower, far fewer activations kept)")
    if micro > 1:
        fixes.append(f"trainer.micro_batch_size = {micro // 2} with gradient_accumulation_steps = {accum * 2} "
                     "(the same global batch)")
    fixes.append(f"a shorter preprocessor.max_seq_len (now {length} tokens)")
    fixes.append('trainer.loss_impl = "chunked" or "liger" (no full-vocabulary logits)')
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return RunError(f"GPU out of memory during {phase} at iteration {iteration}, micro-batch of {rows} × {length} "
                    f"tokens (micro_batch_size {micro}, gradient_accumulation_steps {accum}): {detail}. "
                    f"To fit, try: " + "; or ".join(fixes))


def disk_error(exc: Exception, name: str, root: Path, previous: Path | None) -> CheckpointWriteError:
    """The error for a checkpoint that could not be written, with the space left on its disk."""
    import errno
    import shutil

    try:
        free = shutil.disk_usage(root).free
    except OSError:
        free = None
    detail = str(exc).splitlines()[0] if str(exc) else ""
    full = (getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "os error 28" in detail
            or "No space left" in detail or (free is not None and free < 2**20))
    why = f"No space left on device ({free / 2**20:.1f} MiB free)" if full else f"{type(exc).__name__}: {detail}"
    kept = f"checkpoint {previous.name} is intact" if previous is not None else "no earlier checkpoint exists"
    return CheckpointWriteError(
        f"cannot write checkpoint {name} in {root}: {why}; nothing half-written "
        f"was left and {kept}. Free space (or point run.dir at a larger disk) and run again: it resumes from "
        "the latest checkpoint")


# --- blaming the plugin whose code raised: lca_core.api.blame (check, compose and eval use it too) ----

from lca_core.api.blame import blame  # noqa: E402,F401
