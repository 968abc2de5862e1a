"""A small lca-run project for the fault tests, and ways to run ``lca-run`` on it: in this process, or
in a forked child (real signals, real exit codes, without a new interpreter's start-up)."""

from __future__ import annotations

import csv
import multiprocessing
import os
import sys
from pathlib import Path

def _child_main(args: list[str], cwd: str, out: str) -> None:
    import torch

    from lca_core.cli.main import main

    os.chdir(cwd)
    torch.set_num_threads(1)
    log = open(out, "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log  # pytest's capture objects are not fds 1 and 2
    rc = 1
    try:
        rc = main(args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def start_lca_run(project: Path, *args: str, name: str = "out") -> tuple[multiprocessing.Process, Path]:
    """``lca-run ARGS`` in a forked child, its stdout+stderr going to ``project/NAME.txt``."""
    out = project / f"{name}.txt"
    process = multiprocessing.get_context("fork").Process(target=_child_main, args=(list(args), str(project), str(out)))
    process.start()
    return process, out


def lca_run(project: Path, *args: str, timeout: float = 300) -> tuple[int, str]:
    """``lca-run ARGS`` in a forked child, run to its end: (exit code, stdout + stderr). Forked so that the
    global state a run sets (library log levels, warning hooks, W&B) stays out of this process."""
    process, out = start_lca_run(project, *args)
    process.join(timeout)
    return process.exitcode, out.read_text()


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def iterations(path: Path) -> list[int]:
    """The ``iter_num`` column of a metrics CSV; the file must parse."""
    return [int(row["iter_num"]) for row in rows(path)] if path.exists() else []
