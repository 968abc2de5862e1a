"""The wandb logger with real wandb in offline mode: its run directory, a resumed run id, no secrets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lca_core.api.components import Runtime
from lca_plugins.loggers.files import read_metrics
from lca_plugins.loggers.wandb_logger import STATE_KEY, WandbLogger

SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"  # shaped like a W&B API key
CONFIG = {"run": {"name": "composer-sweep", "seed": 7},
          "composer": {"name": "path_distance", "max_context_chars_marker": 49152},
          "data": {"path": f"https://example.org/lca.parquet?token={SECRET}"}}  # a secret a user let slip


def wandb_logger(run_dir: Path) -> WandbLogger:
    logger = WandbLogger(mode="offline", project="lca-tests", tags=["test"], notes="offline test")
    logger.setup(Runtime(run_dir=run_dir, config=CONFIG))
    return logger


def transaction_log(offline_dir: Path, run_id: str, needle: bytes) -> bytes:
    """The run's .wandb file once it holds ``needle``: wandb-core flushes it shortly after finish()."""
    path = offline_dir / f"run-{run_id}.wandb"
    deadline = time.monotonic() + 20
    while needle not in (data := path.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return data


@pytest.mark.slow
def test_offline_run_lives_in_the_run_directory_and_resumes_with_the_same_id(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    first = wandb_logger(tmp_path)
    first.start(resumed_from=None, state={})
    first.log("valid", 0, {"cross_entropy": 3.0})
    for it in (1, 2, 3):
        first.log("train", it, {"cross_entropy": 3.0 - it / 10, "learning_rate": 1e-5})
    state = first.state()  # what the trainer stores in checkpoint 0002
    first.finish("stopped")

    run_id = state[STATE_KEY]
    assert run_id.startswith("composer-sweep-")  # the run name, then random digits
    offline = sorted((tmp_path / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(offline) == 1
    records = transaction_log(offline[0], run_id, b"max_context_chars_marker")
    assert b"max_context_chars_marker" in records  # the resolved config went along
    assert b"token=***" in records  # ... with the secret redacted

    # wandb names an offline run's folder by the second it starts: a resume within the same second would
    # reuse the first folder's name (seen on an idle machine), so start it in the next second
    time.sleep(1.1)
    resumed = wandb_logger(tmp_path)
    resumed.start(resumed_from=2, state=state)
    resumed.log("train", 3, {"cross_entropy": 2.7, "learning_rate": 1e-5})
    assert resumed.state() == state
    resumed.finish("completed")

    assert len(list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}"))) == 2
    assert [row["iter_num"] for row in read_metrics(tmp_path / "logs" / "train.csv")[1]] == [1, 2, 3]
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.slow
def test_a_fresh_start_gets_a_new_run_id_even_with_an_old_state(tmp_path):
    logger = wandb_logger(tmp_path)
    logger.start(resumed_from=None, state={STATE_KEY: "old-run-id"})
    new_id = logger.state()[STATE_KEY]
    logger.finish("completed")
    assert new_id != "old-run-id" and new_id.startswith("composer-sweep-")


def test_describing_loggers_never_imports_wandb_or_torch():
    code = (
        "import sys\n"
        "from lca_core.api.plugins import get_plugin_manager\n"
        "registry = get_plugin_manager().registry('logger')\n"
        "for name in ('local', 'wandb', 'dummy'): registry.load(name)\n"
        "print(sorted(m for m in ('wandb', 'torch', 'transformers', 'datasets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert out.stdout.strip() == "[]"
