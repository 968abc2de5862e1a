"""Distributed training on the CPU with gloo: `lca-run --nproc 2` (real torchrun) against one process.

One process with gradient_accumulation_steps = 4 and two processes (2 micro-batches each) train on the same
samples per step, so their losses and final weights agree to float rounding; checkpoints move between world
sizes and strategies (DDP ↔ one process, one process → FSDP2 with torch.distributed.checkpoint shards).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import TINY_PROJECT_TOML, make_datapoint


def _run_file() -> str:
    """The CLI tests' tiny run (3 steps), with a global batch of 4 micro-batches of 1 (so 2 per process on 2)."""
    text = TINY_PROJECT_TOML
    for old, new in (("max_iters = 4", "max_iters = 3"), ("valid_size = 2", "valid_size = 3"), ("micro_batch_size = 2", "micro_batch_size = 1"),
                     ("gradient_accumulation_steps = 1", "gradient_accumulation_steps = 4"),
                     ("valid_freq = 100", "valid_freq = 3"), ('dir = "run"', 'dir = "one"')):
        assert old in text
        text = text.replace(old, new)
    return text


def lca_run(*args, cwd):
    env = {**os.environ, "LCA_TRACEBACK": "1", "OMP_NUM_THREADS": "1"}
    script = Path(sys.executable).with_name("lca-run")
    done = subprocess.run([str(script), *args, "--no-progress"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def logged(run: Path, split: str, name: str) -> list[float]:
    with open(run / "logs" / f"{split}.csv") as handle:
        return [float(row[name]) for row in csv.DictReader(handle)]


def weights(checkpoint: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(checkpoint / "model" / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    import torch

    wa, wb = weights(a), weights(b)
    assert sorted(wa) == sorted(wb)
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], rtol=1e-5, atol=1e-6, msg=name)


def from_checkpoint(source: Path, target: Path, iteration: str = "0002") -> None:
    """A run directory holding only ``source``'s checkpoint ``iteration`` (and its logs): resume starts there."""
    (target / "checkpoints").mkdir(parents=True)
    shutil.copytree(source / "checkpoints" / iteration, target / "checkpoints" / iteration)
    shutil.copytree(source / "logs", target / "logs")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("distributed")
    tokenizer.save_pretrained(folder / "tokenizer")
    with open(folder / "data.jsonl", "w") as handle:
        for i in range(12):  # different lengths: padding and loss tokens differ between micro-batches
            handle.write(json.dumps(make_datapoint(repo=f"owner__repo{i % 6}", filename=f"pkg/mod{i}.py")) + "\n")
    (folder / "run.toml").write_text(_run_file())
    lca_run("run.toml", cwd=folder)  # the 1-process reference, in run dir "one"
    return folder


@pytest.mark.slow
def test_two_processes_train_like_one_and_resume_across_world_sizes(workdir):
    out = lca_run("--nproc", "2", "run.toml", 'run.dir="two"', cwd=workdir)
    assert "2 processes (gloo), strategy ddp" in out and "2 micro-batches of 1 per process" in out
    one, two = workdir / "one", workdir / "two"
    for split, name in (("train", "cross_entropy"), ("train", "grad_norm"), ("train", "tokens"),
                        ("valid", "cross_entropy"), ("valid", "completion_cross_entropy")):
        assert logged(two, split, name) == pytest.approx(logged(one, split, name), rel=1e-5), (split, name)
    assert_same_weights(two / "checkpoints" / "0003", one / "checkpoints" / "0003")
    assert not (two / "checkpoints" / "0003" / "sharded").exists()  # DDP: optim.pt as in one process

    from_checkpoint(two, workdir / "two_then_one")  # 2 processes → 1
    assert "resumed from 2" in lca_run("run.toml", 'run.dir="two_then_one"', cwd=workdir)
    assert_same_weights(workdir / "two_then_one" / "checkpoints" / "0003", one / "checkpoints" / "0003")

    from_checkpoint(one, workdir / "one_then_two")  # 1 process → 2
    assert "resumed from 2" in lca_run("--nproc", "2", "run.toml", 'run.dir="one_then_two"', cwd=workdir)
    assert_same_weights(workdir / "one_then_two" / "checkpoints" / "0003", one / "checkpoints" / "0003")


@pytest.mark.slow
def test_fsdp_resumes_a_one_process_checkpoint_and_writes_shards_plus_a_whole_model(workdir):
    from_checkpoint(workdir / "one", workdir / "fsdp")
    out = lca_run("--nproc", "2", "run.toml", 'run.dir="fsdp"', 'trainer.strategy="fsdp"', cwd=workdir)
    assert "strategy fsdp (set in the run file)" in out and "resumed from 2" in out
    final = workdir / "fsdp" / "checkpoints" / "0003"
    assert sorted(p.name for p in (final / "sharded").iterdir()) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert_same_weights(final, workdir / "one" / "checkpoints" / "0003")  # the consolidated model/ directory
    assert logged(workdir / "fsdp", "valid", "cross_entropy")[-1] == pytest.approx(
        logged(workdir / "one", "valid", "cross_entropy")[-1], rel=1e-5)


@pytest.mark.slow
def test_nproc_that_does_not_divide_the_accumulation_is_refused_before_starting(workdir, capsys, monkeypatch):
    from lca_core.cli.main import main

    monkeypatch.chdir(workdir)
    assert main(["--nproc", "3", "run.toml", 'run.dir="three"']) == 2
    err = capsys.readouterr().err
    assert "trainer.gradient_accumulation_steps" in err and "multiple of 3" in err
    assert not (workdir / "three").exists()
