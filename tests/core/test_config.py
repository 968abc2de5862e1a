"""Run files: overrides as TOML literals, run name/dir rules, and the resolved snapshot round-trip."""

from __future__ import annotations

import pytest

from lca_core.config.loader import load_run_config, parse_override
from lca_core.config.snapshot import resolved, resolved_toml, write_config_snapshot
from tests.core.broken_corpus import BASE


@pytest.mark.parametrize("text,expected", [
    ("trainer.learning_rate=3e-5", (["trainer", "learning_rate"], 3e-5)),
    ("trainer.max_iters=10", (["trainer", "max_iters"], 10)),
    ("trainer.shuffle=false", (["trainer", "shuffle"], False)),
    ('composer.name="file_level"', (["composer", "name"], "file_level")),
    ("composer.name=file_level", (["composer", "name"], "file_level")),  # bare word: a string
    ("plugins.modules=['a.py', 'b.py']", (["plugins", "modules"], ["a.py", "b.py"])),
    ("run.name = spaced ", (["run", "name"], "spaced")),
])
def test_override_values_are_toml_literals(text, expected):
    assert parse_override(text) == expected


def test_overrides_apply_and_validate(tmp_path, plugin_manager):
    run_file = tmp_path / "exp.toml"
    run_file.write_text(BASE)
    config = load_run_config(run_file, ["trainer.learning_rate=3e-5", "scheduler.name=linear"])
    assert config.trainer.learning_rate == 3e-5
    assert config.scheduler.name == "linear"
    assert config.scheduler.params == {"warmup_iters": 1, "lr_decay_iters": 0, "min_lr": 5e-8}


def test_run_name_and_dir_rules(tmp_path, plugin_manager, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = tmp_path / "exp.toml"
    plain.write_text(BASE)
    config = load_run_config(plain)
    assert config.run_name == "exp" and config.run_dir == tmp_path / "runs" / "exp"
    initialised = tmp_path / "runs" / "my-run" / "run.toml"
    initialised.parent.mkdir(parents=True)
    initialised.write_text(BASE)
    config = load_run_config(initialised)
    assert config.run_name == "my-run" and config.run_dir == initialised.parent.resolve()


def test_resolved_toml_round_trips(tmp_path, plugin_manager):
    run_file = tmp_path / "exp.toml"
    run_file.write_text(BASE)
    (tmp_path / "data.jsonl").write_text("")
    config = load_run_config(run_file, ["trainer.max_iters=9"])
    folder = write_config_snapshot(config, tmp_path / "runs" / "exp")
    assert (folder / "run.toml").read_text() == BASE  # as given
    text = (folder / "resolved.toml").read_text()
    assert "warmup_iters = 1" in text and "max_iters = 9" in text and "min_lr" in text  # defaults filled in
    reloaded = load_run_config(folder / "resolved.toml")
    assert reloaded == resolved(config)
    assert reloaded.data.path == str((tmp_path / "data.jsonl").resolve())
    assert resolved_toml(reloaded) == text  # a fixed point
