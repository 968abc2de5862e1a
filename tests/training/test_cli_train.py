"""``lca-run RUN.toml`` end to end in a subprocess: the run directory's structure, then resume to more steps."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factories import TINY_MODEL_TOML, make_datapoint

RUN_FILE = """
[run]
name = "tiny"
dir = "run"

""" + TINY_MODEL_TOML + """
[data]
path = "data.jsonl"

[split]
valid_size = 2
max_per_repo = 1

[preprocessor]
name = "lm"
max_seq_len = 64
context_tokens = 0.5

[trainer]
max_iters = 3
micro_batch_size = 2
gradient_accumulation_steps = 1
learning_rate = 1e-3
valid_freq = 2
cpu_threads = 1

[checkpointing]
freq = 2
"""


def lca_run(*args, cwd):
    env = {**os.environ, "LCA_TRACEBACK": "1"}
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_lca_run_trains_writes_the_run_directory_and_resumes(tmp_path, tokenizer, monkeypatch, capsys):
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    with open(tmp_path / "data.jsonl", "w") as handle:
        for i in range(8):
            handle.write(json.dumps(make_datapoint(repo=f"owner__repo{i % 4}", filename=f"pkg/mod{i}.py")) + "\n")
    (tmp_path / "tiny.toml").write_text(RUN_FILE)

    first = lca_run("tiny.toml", "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"checkpoints", "configs", "logs"}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["0002", "0003"]
    assert {p.name for p in (run / "checkpoints" / "0003").iterdir()} == {"metrics.json", "model", "optim.pt", "state.pt"}
    assert {p.name for p in (run / "configs").iterdir()} == {"run.toml", "resolved.toml"}
    assert {p.name for p in (run / "logs").iterdir()} >= {"train.csv", "valid.csv", "stdout.json", "stderr.json"}
    with open(run / "logs" / "valid.csv") as handle:
        assert [row["iter_num"] for row in csv.DictReader(handle)] == ["0", "2", "3"]

    # the same run file, asked for more steps (in this process, to save a start-up): resumes from
    # checkpoint 3 and logs no step twice
    from lca_core.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["tiny.toml", "trainer.max_iters=5", "--no-progress"]) == 0
    assert "resumed from 3" in capsys.readouterr().out
    with open(run / "logs" / "train.csv") as handle:
        assert [row["iter_num"] for row in csv.DictReader(handle)] == ["1", "2", "3", "4", "5"]
    assert (run / "checkpoints" / "0005" / "model" / "tokenizer.json").exists()
