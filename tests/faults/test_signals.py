"""Graceful stop: SIGTERM / SIGINT save a checkpoint at the next step boundary and say how to resume
(exit 128 + signal: 143, 130); a second signal stops at once. Real signals to a real lca-run process."""

from __future__ import annotations

import os
import signal
import time

import pytest

from lca_core.training.checkpoint import CheckpointManager
from tests.faults.project import iterations, start_lca_run

SLOW_PLUGIN = '''
"""Slows every step down, and can hang after one, so that signals land while the run is busy."""
import os
import time
from pathlib import Path

from lca_core import hookimpl


@hookimpl
def lca_after_optimizer_step(iteration):
    time.sleep(float(os.environ.get("FAULTS_STEP_SLEEP", "0.05")))
    if iteration == int(os.environ.get("FAULTS_HANG_AT", "0")):
        Path("hanging").write_text(str(iteration))
        time.sleep(120)
'''


def slow_project(project):
    (project / "slow.py").write_text(SLOW_PLUGIN)
    with open(project / "run.toml", "a") as handle:
        handle.write('\n[plugins]\nmodules = ["slow.py"]\n')
    return project


def wait_for(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_saves_at_the_step_boundary_and_says_how_to_resume(project, signum):
    slow_project(project)
    train_csv = project / "run" / "logs" / "train.csv"
    process, out = start_lca_run(project, "run.toml", "trainer.max_iters=500", "checkpointing.freq=0", "--no-progress")
    wait_for(lambda: len(iterations(train_csv)) >= 3)
    os.kill(process.pid, signum)
    process.join(60)
    text = out.read_text()
    assert process.exitcode == 128 + signum, text

    stopped_at = iterations(train_csv)[-1]
    assert f"stopped after iteration {stopped_at} of 500" in text
    # the hint keeps the overrides the run was started with
    assert "run `lca-run run.toml trainer.max_iters=500 checkpointing.freq=0` again" in text
    assert "Traceback" not in text
    assert [p.name for p in CheckpointManager(project / "run" / "checkpoints").complete()] == [f"{stopped_at:04d}"]
    if signum == signal.SIGINT:
        return
    # resumed, it continues from that checkpoint and logs no step twice
    process, out = start_lca_run(project, "run.toml", f"trainer.max_iters={stopped_at + 2}", "--no-progress",
                                 name="resumed")
    process.join(120)
    assert process.exitcode == 0, out.read_text()
    assert f"resumed from {stopped_at}" in out.read_text()
    assert iterations(train_csv) == list(range(1, stopped_at + 3))


@pytest.mark.slow
def test_a_second_signal_stops_at_once(project, monkeypatch):
    slow_project(project)
    monkeypatch.setenv("FAULTS_HANG_AT", "3")  # the step hangs after iteration 3, before its boundary
    process, out = start_lca_run(project, "run.toml", "trainer.max_iters=50", "checkpointing.freq=2", "--no-progress")
    wait_for(lambda: (project / "hanging").exists())
    os.kill(process.pid, signal.SIGTERM)
    wait_for(lambda: "SIGTERM received" in out.read_text())
    started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    process.join(30)
    text = out.read_text()
    assert process.exitcode == 143 and time.monotonic() - started < 10, text
    assert "SIGTERM again: stopped at once" in text and "Traceback" not in text
    # no checkpoint for the interrupted boundary: only the regular one at 2
    assert [p.name for p in CheckpointManager(project / "run" / "checkpoints").complete()] == ["0002"]


def test_sigterm_during_start_up_stops_with_a_message(project):
    # a local plugin whose import hangs: the signal lands while the run file is being loaded
    (project / "hang.py").write_text('from pathlib import Path\nimport time\nPath("hanging").write_text("1")\n'
                                     'time.sleep(120)\n')
    with open(project / "run.toml", "a") as handle:
        handle.write('\n[plugins]\nmodules = ["hang.py"]\n')
    process, out = start_lca_run(project, "run.toml", "--no-progress")
    wait_for(lambda: (project / "hanging").exists())
    os.kill(process.pid, signal.SIGTERM)
    process.join(30)
    text = out.read_text()
    assert process.exitcode == 143, text
    assert "lca-run: interrupted: SIGTERM during start-up: stopped before the first step" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1
