"""A stand-in training process for the SIGKILL test: logs in a loop, "checkpoints" every 4 iterations.

Usage: python log_loop.py RUN_DIR ITERATIONS. Resumes from RUN_DIR/checkpoint.json when it exists,
as the trainer does from its latest checkpoint. Prints each finished iteration on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from lca_core.api.components import Runtime
from lca_plugins.loggers.local import LocalLogger


def train_metrics(it: int) -> dict[str, float]:
    metrics = {"cross_entropy": 1.0 / (it + 1), "learning_rate": it * 1e-6}
    if it >= 7:  # a metric that appears mid-run forces a header rewrite
        metrics["grad_norm"] = it / 7
    return metrics


def valid_metrics(it: int) -> dict[str, float]:
    metrics = {"cross_entropy": 2.0 / (it + 1)}
    if it >= 20:
        metrics["inproject_cross_entropy"] = 3.0 / (it + 1)
    return metrics


def main(run_dir: Path, iterations: int) -> None:
    checkpoint = run_dir / "checkpoint.json"
    saved = json.loads(checkpoint.read_text()) if checkpoint.exists() else None
    resumed_from = saved["iteration"] if saved else None
    logger = LocalLogger()
    logger.setup(Runtime(run_dir=run_dir))
    logger.start(resumed_from=resumed_from, state=saved["state"] if saved else {})
    start = (resumed_from + 1) if saved else 0
    with open(run_dir / "starts.txt", "a") as starts:  # which attempt logged what, for the test to check
        starts.write(f"{start}\n")
    attempt = len((run_dir / "starts.txt").read_text().split())
    for it in range(start, iterations):
        logger.log("train", it, {**train_metrics(it), "attempt": attempt})
        if it % 5 == 0:
            logger.log("valid", it, valid_metrics(it))
        logger.message("INFO", {"iteration": it, "padding": "x" * 3000})  # long lines: many bytes per write
        if it % 4 == 3:
            tmp = checkpoint.with_suffix(".tmp")
            tmp.write_text(json.dumps({"iteration": it, "state": logger.state()}))
            os.replace(tmp, checkpoint)
        print(it, flush=True)
        time.sleep(0.001)
    logger.finish("completed")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
