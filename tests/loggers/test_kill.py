"""A real process logging in a loop is SIGKILLed at several points: every file still parses, and
resuming from the last checkpoint ends with each iteration logged exactly once."""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lca_plugins.loggers.files import read_messages, read_metrics
from tests.loggers.log_loop import train_metrics, valid_metrics

LOOP = Path(__file__).with_name("log_loop.py")
ITERATIONS = 60


def run_loop(run_dir: Path, kill_after: int | None) -> int:
    """Run the loop; SIGKILL it once it has printed ``kill_after``. Returns the exit code."""
    # A process to be killed gets an endless budget, so it cannot finish before the signal lands.
    iterations = ITERATIONS if kill_after is None else 10**9
    process = subprocess.Popen([sys.executable, str(LOOP), str(run_dir), str(iterations)],
                               stdout=subprocess.PIPE, text=True)
    if kill_after is not None:
        for line in process.stdout:
            if int(line) >= kill_after:
                time.sleep(random.Random(kill_after).uniform(0, 0.004))  # land anywhere in the next step
                process.send_signal(signal.SIGKILL)
                break
    process.stdout.read()
    return process.wait()


def assert_every_file_parses(logs: Path) -> None:
    for name in ("train.csv", "valid.csv"):
        text = (logs / name).read_text()
        assert text.endswith("\n"), f"{name} ends in a torn row"
        header, *rows = list(csv.reader(text.splitlines()))
        assert header[0] == "iter_num" and all(len(row) == len(header) for row in rows), name
    for name in ("stdout.json", "stderr.json"):
        path = logs / name
        if path.exists():
            text = path.read_text()
            assert text == "" or text.endswith("\n")
            for line in text.splitlines():
                json.loads(line)


@pytest.mark.slow
def test_sigkill_at_any_point_leaves_parseable_files_and_resume_logs_each_iteration_once(tmp_path):
    logs = tmp_path / "logs"
    for kill_after in (2, 9, 17, 26):  # before the first checkpoint, after a header rewrite, ...
        assert run_loop(tmp_path, kill_after) == -signal.SIGKILL
        assert_every_file_parses(logs)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["iteration"] < ITERATIONS
    assert run_loop(tmp_path, None) == 0
    assert_every_file_parses(logs)

    columns, train = read_metrics(logs / "train.csv")
    assert columns == ["iter_num", "cross_entropy", "learning_rate", "attempt", "grad_norm"]
    assert [row["iter_num"] for row in train] == list(range(ITERATIONS))
    starts = [int(s) for s in (tmp_path / "starts.txt").read_text().split()]
    assert len(starts) == 5 and starts[0] == 0
    for row in train:
        it = row.pop("iter_num")
        # Rows a killed attempt logged after its last checkpoint were replaced by the next attempt's.
        assert row.pop("attempt") == max(a for a, start in enumerate(starts, 1) if start <= it)
        assert {k: v for k, v in row.items() if v is not None} == train_metrics(it)
    _, valid = read_metrics(logs / "valid.csv")
    assert [row["iter_num"] for row in valid] == list(range(0, ITERATIONS, 5))
    assert all(row["cross_entropy"] == valid_metrics(row["iter_num"])["cross_entropy"] for row in valid)
    steps = [m["content"]["iteration"] for m in read_messages(logs / "stdout.json") if isinstance(m["content"], dict)]
    assert set(steps) == set(range(ITERATIONS))  # messages are a journal: re-run steps appear again
    assert not list(logs.glob(".*tmp*"))
