"""Exact resume: a training process SIGKILLed mid-step and mid-save, resumed, ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import csv
import multiprocessing
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from lca_core.training.checkpoint import CheckpointManager

MAX_ITERS = 10
LOSS_COLUMNS = ("cross_entropy", "detached_cross_entropy", "inproject_cross_entropy", "grad_norm", "learning_rate")


def _context():
    # Forked children: real, separate processes that need not import torch again (each sets one
    # intra-op thread, as DataLoader workers do, so OpenMP state inherited from this process is unused).
    import tests.training.kill_target  # noqa: F401

    return multiprocessing.get_context("fork")


def _run(context, run_dir, tokenizer_dir, kill=None, external_kill=False):
    from tests.training.kill_target import run_training

    process = context.Process(target=run_training, args=(str(run_dir), MAX_ITERS, kill, str(tokenizer_dir)))
    process.start()
    if external_kill:
        marker = run_dir / "waiting"
        deadline = time.monotonic() + 120
        while not marker.exists() and process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the training process never reached the kill point"
        process.kill()
        marker.unlink()
    process.join(120)
    return process.exitcode


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_is_bit_identical(tmp_path, tokenizer):
    started = time.monotonic()
    tokenizer_dir = tmp_path / "tokenizer"
    tokenizer.save_pretrained(tokenizer_dir)
    context = _context()

    reference = tmp_path / "reference"
    assert _run(context, reference, tokenizer_dir) == 0
    print(f"reference run done after {time.monotonic() - started:.1f} s")

    interrupted = tmp_path / "interrupted"
    # 1. killed from outside between the two micro-batches of step 3, after checkpoint 2
    assert _run(context, interrupted, tokenizer_dir, kill=("forward", 6), external_kill=True) == -signal.SIGKILL
    assert [p.name for p in CheckpointManager(interrupted / "checkpoints").complete()] == ["0002"]
    # 2. resumed from 2, dies half-way through writing checkpoint 6: 4 stays the latest, nothing half-written counts
    assert _run(context, interrupted, tokenizer_dir, kill=("save", 6)) == -signal.SIGKILL
    assert [p.name for p in CheckpointManager(interrupted / "checkpoints").complete()] == ["0002", "0004"]
    assert (interrupted / "checkpoints" / ".0006.tmp").exists()
    # 3. resumed from 4, runs to the end
    assert _run(context, interrupted, tokenizer_dir) == 0

    for split in ("train", "valid"):
        expected = _rows(reference / "logs" / f"{split}.csv")
        got = _rows(interrupted / "logs" / f"{split}.csv")
        assert [r["iter_num"] for r in got] == [r["iter_num"] for r in expected]  # no iteration twice
        for want, have in zip(expected, got):
            assert {k: have[k] for k in LOSS_COLUMNS if k in want} == {k: want[k] for k in LOSS_COLUMNS if k in want}
    final = f"checkpoints/{MAX_ITERS:04d}/model/model.safetensors"
    want, have = load_file(reference / final), load_file(interrupted / final)
    assert want.keys() == have.keys() and all(torch.equal(want[k], have[k]) for k in want)
    assert not (interrupted / "checkpoints" / ".0006.tmp").exists()
