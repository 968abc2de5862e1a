"""docs/plugins.md cannot rot: its `lca-tour` plugin is written out from the page's code blocks, pip-installed,
tested with its own tests (also from the page), listed, described and used in a real run by ``lca-run``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import write_tiny_project
from tests.plugin_dists import env_with, lca_run, pip_install

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)\n```", re.S)


def guide_files() -> dict[str, str]:
    return {path: body + "\n" for path, body in FILE_BLOCK.findall(GUIDE.read_text())}


def toml_block(containing: str) -> str:
    return next(body for body in re.findall(r"```toml\n(.*?)\n```", GUIDE.read_text(), re.S) if containing in body)


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """(source folder, site folder) of lca-tour as the guide writes it."""
    root = tmp_path_factory.mktemp("guide")
    for path, body in guide_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body)
    pip_install(root / "site", root / "lca-tour")
    return root / "lca-tour", root / "site"


def test_the_guide_shows_every_kind_and_its_tests():
    files = guide_files()
    assert {"lca-tour/pyproject.toml", "lca-tour/tests/test_tour.py"} <= set(files)
    for module in ("composer", "plain_composer", "block", "preprocessor", "scheduler", "logger", "observer"):
        assert f"lca-tour/lca_tour/{module}.py" in files
        assert f'lca_tour.{module}"' in files["lca-tour/pyproject.toml"]


def test_the_tour_passes_its_own_tests(tour):
    source, site = tour
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=source,
                            env=env_with(site), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout


def test_the_tour_describes_its_plain_composer(tour, tmp_path):
    _, site = tour
    result = lca_run("describe", "tour_longest_last", cwd=tmp_path, env=env_with(site))
    assert result.returncode == 0, result.stderr
    assert "min_lines (an integer; default 1)\n        Leave out files shorter than this." in result.stdout


def test_the_chained_block_example_checks(tour, tokenizer, tmp_path):
    _, site = tour
    project = write_tiny_project(tmp_path / "project", tokenizer, extra="\n" + toml_block('name = "chained"') + "\n")
    result = lca_run("check", "run.toml", cwd=project, env=env_with(site))
    assert result.returncode == 0, result.stderr
    assert "composer      chained" in result.stdout and "tour_max_lines" in result.stdout


@pytest.mark.slow
def test_the_tour_trains(tour, tokenizer, tmp_path):
    _, site = tour
    components = """
[composer]
name = "tour_longest_last"
min_lines = 1

[preprocessor]
name = "tour_completion_only"
max_seq_len = 64

[scheduler]
name = "tour_step_decay"
every = 2
"""
    project = write_tiny_project(tmp_path / "project", tokenizer)
    text = (project / "run.toml").read_text()
    text = re.sub(r"\[preprocessor\]\n(.*\n)*?\n", "", text).replace('[logger]\nname = "local"',
                                                                      '[logger]\nname = "tour_jsonl"')
    (project / "run.toml").write_text(text + components)
    result = lca_run("run.toml", "--no-progress", cwd=project, env=env_with(site))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (project / "run" / "logs" / "tour.jsonl").read_text().splitlines()]
    train = [row for row in rows if row["split"] == "train"]
    assert [row["iteration"] for row in train] == [1, 2, 3, 4]
    assert re.search(r"tour: step \d+: validation cross-entropy \d", result.stdout + result.stderr)
