"""Every user-supplied number and path is validated when the run file is read: `lca-run check` (and so a
run) exits 2 with one line naming the dotted key — never an internal error later, never silent acceptance."""

from __future__ import annotations

import pytest

from tests.faults.project import lca_run

DEEP = "[" * 1000 + "]" * 1000

CASES = [
    ("trainer.micro_batch_size=0", "trainer.micro_batch_size: must be ≥ 1"),
    ("trainer.micro_batch_size=-3", "trainer.micro_batch_size: must be ≥ 1"),
    ("trainer.gradient_accumulation_steps=0", "trainer.gradient_accumulation_steps: must be ≥ 1"),
    ("run.seed=-1", "run.seed: must be a whole number from 0 to 4294967295"),
    ("run.seed=18446744073709551616", "run.seed"),
    ("run.seed=4294967296", "run.seed: must be a whole number from 0"),
    ("trainer.learning_rate=nan", "trainer.learning_rate: must be a finite number"),
    ("trainer.learning_rate=inf", "trainer.learning_rate: must be a finite number"),
    ("trainer.learning_rate=-1e-4", "trainer.learning_rate: must be ≥ 0"),
    ("trainer.weight_decay=nan", "trainer.weight_decay: must be a finite number"),
    ("trainer.beta_2=1.0", "trainer.beta_2: must be in [0, 1)"),
    ("trainer.valid_freq=-5", "trainer.valid_freq: must be ≥ 0"),
    ("checkpointing.freq=-2", "checkpointing.freq: must be ≥ 0"),
    ('run.name="a\\u0000b"', "run.name: must not contain a NUL character"),
    ('run.name="../../x"', "run.name: must be a plain name"),
    ('run.name="/tmp/x"', "run.name: must be a plain name"),
    ('data.path="data\\u0000.jsonl"', "data.path: must not contain a NUL character"),
    ("model.config.hidden_size=1e11", "model.config.hidden_size: must be a whole number from 1 to 1048576"),
    ("model.config.num_hidden_layers=0", "model.config.num_hidden_layers: must be a whole number"),
    ("model.config.rope_theta=nan", "model.config.rope_theta: must be a finite number"),
    (f"composer.x={DEEP}", "composer.x: override: arrays or tables nested too deeply"),
]
PACKAGE_CASES = [
    ('model.name_or_path="package:this.x"', "model.name_or_path: 'package:this.x': name one installed top-level"),
    ('model.name_or_path="package:no_such_package_here"', "model.name_or_path: no installed Python package"),
]


@pytest.mark.parametrize("override, expected", CASES + PACKAGE_CASES, ids=[c[0][:40] for c in CASES + PACKAGE_CASES])
def test_check_refuses_the_value_naming_its_key(project, override, expected):
    extra = ["model.random_init=false"] if "package:" in override else []
    code, text = lca_run(project, "check", "run.toml", override, *extra)
    assert code == 2, text
    lines = [line for line in text.splitlines() if line.startswith("lca-run:")]
    assert len(lines) == 1 and lines[0].startswith("lca-run: configuration error:"), text
    assert expected in lines[0], text
    assert "Traceback" not in text and "internal error" not in text
    assert "Beautiful is better than ugly" not in text  # `import this` never ran


def test_a_deeply_nested_run_file_is_a_configuration_error(project):
    with open(project / "run.toml", "a") as handle:
        handle.write(f"\n[plugins]\nmodules = {DEEP}\n")
    code, text = lca_run(project, "check", "run.toml")
    assert code == 2 and "nested too deeply" in text and "Traceback" not in text, text


def test_a_run_name_never_writes_outside_the_runs_folder(tmp_path, project):
    code, text = lca_run(project, "run.toml", 'run.name="../escaped"', 'run.dir=""', "--no-progress")
    assert code == 2 and "run.name" in text, text
    assert not (project / "escaped").exists() and not (project.parent / "escaped").exists()


def test_check_finds_a_datapoint_too_short_to_fill_a_sequence_without_padding(project):
    import json

    from tests.factories import make_datapoint

    tiny = make_datapoint(repo="owner__tiny", filename="t.py", content="x = 1\ny = 2\n", snapshot={"u.py": "z = 3\n"},
                          lines={"inproject": [], "infile": [], "common": [1], "commited": [], "non_informative": [],
                                 "random": []})
    with open(project / "data.jsonl", "a") as handle:
        handle.write(json.dumps(tiny) + "\n")
    code, text = lca_run(project, "check", "run.toml", "split.valid_size=0", "preprocessor.max_seq_len=160")
    assert code == 2, text
    assert "preprocessor.padding: 1 training datapoints give fewer than max_seq_len + 1 = 161 tokens" in text
    assert "(owner__tiny:t.py)" in text and "Traceback" not in text
    code, text = lca_run(project, "check", "run.toml", "split.valid_size=0", "preprocessor.max_seq_len=160",
                         "preprocessor.padding=true")
    assert code == 0, text
