"""After a run fails: save what can be saved, then report an error naming the checkpoint to resume from.

A failure between steps (or inside a step, before the optimizer touched the weights) leaves a consistent
state: the loop goes back to where the failed step began and writes a checkpoint, so nothing done is lost.
A failure inside ``optimizer.step`` (half-updated weights) or while writing a checkpoint saves nothing
and names the last complete checkpoint instead (docs/reliability.md).
"""

from __future__ import annotations

from typing import Any

from lca_core.training.faults import CheckpointWriteError, blame
from lca_core.training.state import restore_rng


def after_failure(trainer: Any, exc: BaseException) -> BaseException:
    """The error to raise for ``exc``, after saving a checkpoint when the trainer's state allows it."""
    from lca_core.api.errors import LcaError, RunError

    state, checkpoints = trainer.state, trainer.checkpoints
    saved = None
    # Never a checkpoint past the last logged step: its row would be lost for good (the logs are cut back to
    # the checkpoint a run resumes from), e.g. when the log disk is full.
    consistent = (not trainer.updating and not isinstance(exc, CheckpointWriteError)
                  and trainer.logged_iteration == state.iteration)
    latest = checkpoints.latest()
    if consistent and state.iteration > 0 and (latest is None or int(latest.name) < state.iteration):
        if trainer.step_start is not None:  # failed inside a step: back to where that step began
            state.sample_position, rng = trainer.step_start
            restore_rng(rng)
            trainer.step_start = None
        trainer.optimizer.zero_grad(set_to_none=True)
        try:
            trainer.save({})
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            pass
        saved = checkpoints.latest() if checkpoints.latest() != latest else None
        latest = saved or latest
    where = (f"saved checkpoint {saved} (the state after iteration {state.iteration})" if saved
             else f"last complete checkpoint: {latest}" if latest else "no checkpoint was saved")
    if isinstance(exc, LcaError):
        named = isinstance(exc, RunError) and not isinstance(exc, CheckpointWriteError)  # it names the checkpoint
        return type(exc)(f"{exc}; {where}") if named else exc
    culprit = blame(exc)
    if culprit is None:
        import warnings

        warnings.warn(f"the run failed after iteration {state.iteration}; {where}", stacklevel=3)
        return exc
    return RunError(f"{culprit} raised {type(exc).__name__}: {exc} (iteration {state.iteration + 1}); "
                    f"{where}; run with --traceback for details")
