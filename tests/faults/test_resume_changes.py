"""Resuming under a changed configuration or changed data is refused (exit 2, each changed key listed)
unless every change is a documented safe one or --allow-changes is given; a refused resume leaves the
run's record (configs/resolved.toml) as it was. Real run files changed between real runs."""

from __future__ import annotations

import json

import pytest

from lca_core.training.changes import SAFE_CHANGES, is_safe
from tests.faults.project import iterations, lca_run


@pytest.fixture
def trained(project):
    code, text = lca_run(project, "run.toml", "trainer.max_iters=2", "--no-progress")
    assert code == 0, text
    return project


@pytest.mark.slow
def test_changed_keys_are_each_listed_and_the_record_is_kept(trained):
    record = trained / "run" / "configs" / "resolved.toml"
    before = record.read_bytes()
    text = (trained / "run.toml").read_text()
    (trained / "run.toml").write_text(text.replace("learning_rate = 1e-3", "learning_rate = 2e-3")
                                      .replace("max_seq_len = 64", "max_seq_len = 48"))
    code, out = lca_run(trained, "run.toml", "trainer.max_iters=4", "run.seed=5", "trainer.micro_batch_size=1",
                        "composer.name=file_level", "--no-progress")
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.startswith("lca-run: configuration error:")]
    changed = {line.split(": ")[2] for line in lines[:-1]}
    # (file_level's own parameters, differing from path_distance's, are listed too)
    assert changed >= {"trainer.learning_rate", "preprocessor.max_seq_len", "run.seed", "trainer.micro_batch_size",
                       "composer.name"}, out
    assert all(key.split(".")[0] in ("trainer", "preprocessor", "run", "composer") for key in changed)
    assert "trainer.learning_rate: 0.001 in checkpoint 0002 → 0.002 now" in out
    assert "--allow-changes" in lines[-1] and "Traceback" not in out
    assert record.read_bytes() == before  # the record still describes the checkpoints
    assert iterations(trained / "run" / "logs" / "train.csv") == [1, 2]


@pytest.mark.slow
def test_a_changed_tokenizer_is_refused(trained):
    code, out = lca_run(trained, "run.toml", "trainer.max_iters=4", "model.tokenizer='local-bpe'", "--no-progress")
    assert code == 2 and "model.tokenizer: " in out, out


@pytest.mark.slow
def test_changed_training_data_is_refused(trained):
    data = trained / "data.jsonl"
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    rows[0]["completion_file"]["content"] += "\nx = 1\n"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = lca_run(trained, "run.toml", "trainer.max_iters=4", "--no-progress")
    assert code == 2, out
    assert "data.path: datapoints" in out and "other datapoints" in out


@pytest.mark.slow
def test_safe_changes_pass_and_allow_changes_lets_the_rest_through(trained):
    code, out = lca_run(trained, "run.toml", "trainer.max_iters=3", "trainer.valid_freq=1", "checkpointing.freq=1",
                        "--no-progress")
    assert code == 0 and "(resumed from 2)" in out, out
    code, out = lca_run(trained, "run.toml", "trainer.max_iters=4", "trainer.learning_rate=5e-4", "--allow-changes",
                        "--no-progress")
    assert code == 0, out
    assert "(--allow-changes): trainer.learning_rate: 0.001 → 0.0005" in out
    assert iterations(trained / "run" / "logs" / "train.csv") == [1, 2, 3, 4]
    assert "learning_rate = 0.0005" in (trained / "run" / "configs" / "resolved.toml").read_text()


@pytest.mark.slow
def test_the_safe_set_is_documented():
    docs = (__import__("pathlib").Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    for key in SAFE_CHANGES:
        assert f"`{key}`" in docs
    assert is_safe("logger.train_csv") and not is_safe("trainer.learning_rate")
