"""The real ``lca-run`` console script lists and describes every built-in composer and block."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.composers.test_builtins import EXPECTED
from tests.console import lca_run as run_console


def lca_run(*args: str) -> subprocess.CompletedProcess:
    return run_console(*args, timeout=60)


def test_list_composers_shows_every_builtin_with_its_description():
    done = lca_run("list", "composers", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert set(EXPECTED) <= set(rows)
    assert all(rows[name]["description"] and rows[name]["status"] == "ok" for name in EXPECTED)
    assert "lines_iou" in lca_run("list", "composers").stdout


def test_list_blocks_shows_the_original_block_set():
    rows = json.loads(lca_run("list", "blocks", "--json").stdout)
    names = {row["name"] for row in rows}
    assert {"file_grained_chunker", "negative_path_distance_ranker", "lexicographic_sorter",
            "path_comment_harvester", "code_segment_grained_chunker", "partial_memory_postprocessor"} <= names


@pytest.mark.parametrize("name", sorted(EXPECTED) + ["path_comment_harvester"])
def test_describe_prints_parameters_and_docs(name):
    done = lca_run("describe", name)
    assert done.returncode == 0, done.stderr
    assert f"'{name}'" in done.stdout and "parameters" in done.stdout
    if name != "path_comment_harvester":
        assert "path_comment_template" in done.stdout


def test_component_modules_import_no_heavy_library():
    code = (
        "import sys\n"
        "from lca_core.api.plugins import get_plugin_manager\n"
        "pm = get_plugin_manager()\n"
        "for kind in ('composer', 'block'):\n"
        "    for name in pm.registry(kind).names(): pm.registry(kind).load(name)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'wandb', 'bm25s', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
