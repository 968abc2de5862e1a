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


def _hold_lock_and_fork_a_sleeper(run_dir, ready):
    import time

    from lca_core.training.lock import RunDirLock

    RunDirLock(run_dir).acquire()
    if os.fork() == 0:  # a forked child (as a DataLoader worker is) that outlives its parent
        time.sleep(20)
        os._exit(0)
    ready.set()
    time.sleep(60)


@pytest.mark.slow
def test_a_forked_child_does_not_keep_a_killed_holders_lock(tmp_path):
    """A flock belongs to the open file, which fork() shares: without care, a killed run's DataLoader
    workers keep its lock until they notice their parent is gone, and the immediate resume exits 2
    (seen on an H200 with num_workers = 4). Forked children drop their copy at once."""
    import multiprocessing

    from lca_core.training.lock import RunDirLock

    context = multiprocessing.get_context("fork")
    ready = context.Event()
    holder = context.Process(target=_hold_lock_and_fork_a_sleeper, args=(tmp_path, ready))
    holder.start()
    assert ready.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    lock = RunDirLock(tmp_path).acquire()  # the sleeping grandchild must not hold it
    assert lock.stale is not None and lock.stale["pid"] == holder.pid
    lock.release()

