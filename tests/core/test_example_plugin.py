"""The third-party example plugin, through the real console script: listed, selected by name, built, validated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import TINY_MODEL_TOML, make_datapoint

pytest.importorskip("lca_plugin_example", reason="pip install ./examples/lca-plugin-example (CI does)")

RUN_FILE = """
""" + TINY_MODEL_TOML + """
[data]
path = "data.jsonl"

[split]
valid_size = 1
max_per_repo = 1

[composer]
name = "identifier_overlap"
min_identifier_length = 4

[preprocessor]
name = "lm"
max_seq_len = 64
context_tokens = 0.5
"""


def lca_run(*args, cwd):
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from lca_core.models.local_tokenizer import build_local_tokenizer

    root = tmp_path_factory.mktemp("example-plugin")
    datapoints = [make_datapoint(repo=f"owner__repo{i % 2}", filename=f"pkg/mod{i}.py") for i in range(4)]
    build_local_tokenizer([dp["completion_file"]["content"] for dp in datapoints] * 20, root / "tokenizer", vocab_size=300)
    (root / "data.jsonl").write_text("".join(json.dumps(dp) + "\n" for dp in datapoints))
    (root / "exp.toml").write_text(RUN_FILE)
    return root


def test_listed_with_its_distribution(run_dir):
    result = lca_run("list", "composers", cwd=run_dir)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "identifier_overlap" in line)
    assert "lca-plugin-example 0.1.0" in line


@pytest.mark.slow
def test_check_builds_it_from_a_run_file(run_dir):
    result = lca_run("check", "exp.toml", cwd=run_dir)
    assert result.returncode == 0, result.stderr
    assert "composer      identifier_overlap" in result.stdout
    assert "'min_identifier_length': 4" in result.stdout
    assert "composed and preprocessed into input_ids (1, 64)" in result.stdout


def test_bad_parameter_names_its_dotted_path(run_dir):
    result = lca_run("check", "exp.toml", "composer.min_identifier_length=0", cwd=run_dir)
    assert result.returncode == 2
    assert "composer.min_identifier_length: must be ≥ 1, got 0" in result.stderr
    assert "Traceback" not in result.stderr
    result = lca_run("check", "exp.toml", "composer.max_file=3", cwd=run_dir)
    assert result.returncode == 2
    assert "composer.max_file: unknown key; did you mean 'max_files'?" in result.stderr
