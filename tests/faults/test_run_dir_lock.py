"""One process per run directory: a second `lca-run` on the same directory exits 2 at once naming the
holder; a lock left by a SIGKILLed process is taken over. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from tests.faults.project import iterations, lca_run, start_lca_run
from tests.faults.test_signals import slow_project, wait_for


@pytest.mark.slow
def test_a_second_process_on_the_same_run_directory_exits_2_naming_the_holder(project):
    slow_project(project)
    train_csv = project / "run" / "logs" / "train.csv"
    first, first_out = start_lca_run(project, "run.toml", "trainer.max_iters=40", "--no-progress")
    try:
        wait_for(lambda: len(iterations(train_csv)) >= 2)
        started = time.monotonic()
        code, text = lca_run(project, "run.toml", "trainer.max_iters=40", "--no-progress")
        assert code == 2, text
        assert time.monotonic() - started < 30  # at once: before any model or data is loaded
        assert f"is in use by lca-run PID {first.pid} on host {socket.gethostname()}" in text
        assert text.startswith("lca-run: configuration error: run.dir: the run directory") and "Traceback" not in text
        first.join(120)
        assert first.exitcode == 0, first_out.read_text()
    finally:
        if first.is_alive():
            os.kill(first.pid, signal.SIGKILL)
    # the first run's log is whole: every iteration once, in order
    assert iterations(train_csv) == list(range(1, 41))


@pytest.mark.slow
def test_the_lock_of_a_killed_process_is_taken_over(project):
    slow_project(project)
    train_csv = project / "run" / "logs" / "train.csv"
    first, _ = start_lca_run(project, "run.toml", "trainer.max_iters=40", "--no-progress")
    wait_for(lambda: len(iterations(train_csv)) >= 3)
    os.kill(first.pid, signal.SIGKILL)
    first.join(30)
    code, text = lca_run(project, "run.toml", "trainer.max_iters=6", "--no-progress")
    assert code == 0, text
    assert f"took over the lock of lca-run PID {first.pid}" in text
    assert iterations(train_csv) == list(range(1, 7))
    # a run that ended normally leaves no stale lock: the next one says nothing about one
    code, text = lca_run(project, "run.toml", "trainer.max_iters=8", "--no-progress")
    assert code == 0 and "took over" not in text, text
