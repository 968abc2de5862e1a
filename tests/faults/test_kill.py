"""Kill at any moment: SIGKILL at random times and inside checkpoint writes, then resume, over many trials.

Every trial checks what a kill may leave behind: only complete checkpoints count, CSVs parse and
hold no iteration twice. Every chain of trials then runs to the end and must equal one uninterrupted
run: the same losses in the CSVs and bit-identical final weights.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from lca_core.training.checkpoint import CheckpointManager
from tests.faults.kill_child import HANGING, train
from tests.faults.project import iterations, rows

MAX_ITERS = 10
TRIALS = 12
SEED = 20261128  # the kill schedule is random but reproducible
LOSS_COLUMNS = ("cross_entropy", "detached_cross_entropy", "grad_norm", "learning_rate")


def _run(run_dir, tokenizer_dir, *, kill_after=None, hang_in_save=0):
    """Run the child; kill it after ``kill_after`` seconds or once it hangs in a save. True if it was killed."""
    import tests.training.kill_target  # noqa: F401  (imported before forking: children start at once)

    process = multiprocessing.get_context("fork").Process(
        target=train, args=(str(run_dir), MAX_ITERS, str(tokenizer_dir), hang_in_save))
    process.start()
    if hang_in_save:
        marker, deadline = run_dir / HANGING, time.monotonic() + 120
        while not marker.exists() and process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if marker.exists():
            process.kill()
            marker.unlink()
    elif kill_after is not None:
        process.join(kill_after)
        if process.is_alive():
            process.kill()
    process.join(120)
    assert process.exitcode in (0, -signal.SIGKILL), f"the training process failed: exit {process.exitcode}"
    return process.exitcode == -signal.SIGKILL


def _check_what_a_kill_leaves(run_dir, previous_latest):
    manager = CheckpointManager(run_dir / "checkpoints")
    done = manager.complete()
    for path in done:  # each checkpoint that counts is whole and loads
        assert {p.name for p in path.iterdir()} == {"metrics.json", "model", "optim.pt", "state.pt", "manifest.json"}
        state, optim = CheckpointManager.load_state(path)
        assert state["trainer"]["iteration"] == int(path.name) and "optimizer" in optim
    partial = [p.name for p in (run_dir / "checkpoints").glob(".*.tmp")]
    latest = int(done[-1].name) if done else 0
    resume = manager.resolve_init("resume", str)  # what the next start picks: the latest complete one
    assert (int(resume.name) if resume else 0) == latest
    assert latest >= previous_latest  # a kill never loses a complete checkpoint
    for split in ("train", "valid"):
        its = iterations(run_dir / "logs" / f"{split}.csv")
        assert len(its) == len(set(its)) and its == sorted(its)
    return latest, partial


def _assert_equal_to_reference(reference, run_dir):
    for split in ("train", "valid"):
        want, got = rows(reference / "logs" / f"{split}.csv"), rows(run_dir / "logs" / f"{split}.csv")
        assert [r["iter_num"] for r in got] == [r["iter_num"] for r in want]
        assert [{k: r[k] for k in LOSS_COLUMNS if k in r} for r in got] == \
               [{k: r[k] for k in LOSS_COLUMNS if k in r} for r in want]
    final = f"checkpoints/{MAX_ITERS:04d}/model/model.safetensors"
    want, have = load_file(reference / final), load_file(run_dir / final)
    assert want.keys() == have.keys() and all(torch.equal(want[k], have[k]) for k in want)


@pytest.mark.slow
def test_random_sigkills_then_resume_equal_an_uninterrupted_run(tmp_path, tokenizer_dir):
    reference = tmp_path / "reference"
    started = time.monotonic()
    assert not _run(reference, tokenizer_dir)
    duration = time.monotonic() - started

    schedule = random.Random(SEED)
    kills, in_save, partial_seen, chains = 0, 0, 0, 0
    run_dir, latest = tmp_path / "chain0", 0
    while kills < TRIALS:
        if schedule.random() < 0.35:  # inside the 1st or 2nd checkpoint write of this process
            killed = _run(run_dir, tokenizer_dir, hang_in_save=schedule.randint(1, 2))
            in_save += killed
        else:  # at a random moment of the run: start-up, a step, validation, logging or a save
            killed = _run(run_dir, tokenizer_dir, kill_after=schedule.uniform(0.05, duration))
        kills += killed
        latest, partial = _check_what_a_kill_leaves(run_dir, latest)
        partial_seen += bool(partial)
        if not killed or latest == MAX_ITERS:  # this chain reached the end: compare it, start another
            assert not _run(run_dir, tokenizer_dir)
            _assert_equal_to_reference(reference, run_dir)
            chains += 1
            run_dir, latest = tmp_path / f"chain{chains}", 0
    if latest < MAX_ITERS:
        assert not _run(run_dir, tokenizer_dir)
        _assert_equal_to_reference(reference, run_dir)
        chains += 1
    print(f"\nkill trials: {kills} SIGKILLs ({in_save} inside a checkpoint write), {partial_seen} left a "
          f"half-written .tmp checkpoint, {chains} resumed chains equal to the reference; "
          f"{time.monotonic() - started:.1f} s")
    assert in_save >= 3 and partial_seen >= 3
