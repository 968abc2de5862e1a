"""Checkpoint directories: atomic writes, init_from choices, top-k by a metric (min or max)."""

from __future__ import annotations

import json

import pytest

from lca_core.api.errors import ConfigError, RunError
from lca_core.training.checkpoint import CheckpointManager
from tests.training.tiny import tiny_model


def save(manager, iteration, valid=None, train=None, model=None):
    return manager.save(iteration, model=model or tiny_model(16), tokenizer=None, optim_state={"step": iteration},
                        state={"trainer": {"iteration": iteration}},
                        metrics={"iteration_number": iteration, "train_metrics": train or {},
                                 "valid_metrics": valid or {}})


def test_partial_save_is_never_picked_and_is_cleaned(tmp_path):
    manager = CheckpointManager(tmp_path)
    model = tiny_model(16)
    save(manager, 2, model=model)
    # what a crash during saving leaves: a hidden .tmp folder, even with every file in it
    partial = tmp_path / ".0004.tmp"
    partial.mkdir()
    (partial / "metrics.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    assert manager.latest().name == "0002"
    assert manager.resolve_init("resume", lambda p: tmp_path / p).name == "0002"
    save(manager, 4, model=model)
    assert not partial.exists()
    assert [p.name for p in manager.complete()] == ["0002", "0004"]
    state, optim = CheckpointManager.load_state(manager.latest())
    assert state == {"trainer": {"iteration": 4}} and optim == {"step": 4}


@pytest.mark.parametrize(("mode", "kept"), [("min", ["0002", "0006", "0008"]), ("max", ["0004", "0008"])])
def test_top_k_keeps_the_best_and_the_latest(tmp_path, mode, kept):
    manager = CheckpointManager(tmp_path, main_metric="cross_entropy", mode=mode, top_k=1 if mode == "max" else 2)
    model = tiny_model(16)
    for iteration, value in ((2, 1.0), (4, 3.0), (6, 0.5), (8, 2.0)):
        save(manager, iteration, valid={"cross_entropy": value}, model=model)
    assert [p.name for p in manager.complete()] == kept
    assert manager.best().name == ("0006" if mode == "min" else "0004")
    assert manager.resolve_init("best", str).name == manager.best().name


def test_score_falls_back_to_training_metrics(tmp_path):
    manager = CheckpointManager(tmp_path, main_metric="cross_entropy")
    path = save(manager, 3, train={"cross_entropy": 2.5})
    assert manager.score(path) == 2.5
    assert json.loads((path / "metrics.json").read_text())["iteration_number"] == 3


def test_init_from_choices(tmp_path):
    manager = CheckpointManager(tmp_path / "checkpoints")
    assert manager.resolve_init("scratch", str) is None
    assert manager.resolve_init("resume", str) is None  # nothing saved yet: start from scratch
    with pytest.raises(RunError, match="no checkpoint"):
        manager.resolve_init("best", str)
    with pytest.raises(ConfigError, match="checkpointing.init_from"):
        manager.resolve_init("lastest", lambda p: tmp_path / p)
