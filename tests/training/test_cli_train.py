"""``lca-run RUN.toml`` end to end in a subprocess: the run directory's structure, then resume to more steps."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import write_tiny_project

def lca_run(*args, cwd):
    env = {**os.environ, "LCA_TRACEBACK": "1"}
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_lca_run_trains_writes_the_run_directory_and_resumes(tmp_path, tokenizer, monkeypatch, capsys):
    write_tiny_project(tmp_path, tokenizer)
    steps = ["trainer.max_iters=3", "trainer.valid_freq=2"]

    first = lca_run("run.toml", *steps, "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"checkpoints", "configs", "logs"}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["0002", "0003"]
    assert {p.name for p in (run / "checkpoints" / "0003").iterdir()} == {"metrics.json", "model", "optim.pt", "state.pt",
                                                                           "config.toml", "data.sha256", "manifest.json"}
    assert {p.name for p in (run / "configs").iterdir()} == {"run.toml", "resolved.toml"}
    assert {p.name for p in (run / "logs").iterdir()} >= {"train.csv", "valid.csv", "stdout.json", "stderr.json"}
    with open(run / "logs" / "valid.csv") as handle:
        assert [row["iter_num"] for row in csv.DictReader(handle)] == ["0", "2", "3"]

    # the same run file, asked for more steps (in this process, to save a start-up): resumes from
    # checkpoint 3 and logs no step twice
    from lca_core.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["run.toml", "trainer.max_iters=5", "trainer.valid_freq=2", "--no-progress"]) == 0
    assert "resumed from 3" in capsys.readouterr().out
    with open(run / "logs" / "train.csv") as handle:
        assert [row["iter_num"] for row in csv.DictReader(handle)] == ["1", "2", "3", "4", "5"]
    assert (run / "checkpoints" / "0005" / "model" / "tokenizer.json").exists()
