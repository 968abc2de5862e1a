"""``lca-run compose`` through the real console script, on a parquet file and a local tokenizer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import make_datapoint

SNAPSHOT = {f"pkg/mod{i}.py": f"def f{i}(x):\n    return x + {i}\n" * 6 for i in range(8)}


@pytest.fixture
def run_file(tmp_path, tokenizer_dir):
    import datasets

    rows = [make_datapoint(snapshot=SNAPSHOT), make_datapoint(repo="owner__other", snapshot=SNAPSHOT)]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "data.parquet"))
    path = tmp_path / "run.toml"
    path.write_text(
        f'[model]\nname_or_path = "{tokenizer_dir}"\n\n[data]\npath = "data.parquet"\n\n'
        '[composer]\nname = "path_distance"\n\n[preprocessor]\nname = "completion_loss"\nmax_seq_len = 160\n'
        "context_tokens = 64\n"
    )
    return path


def lca_run(*args, cwd):
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_compose_shows_chunks_cut_and_categories_and_writes_html(run_file, tmp_path):
    result = lca_run("compose", str(run_file), "--index", "1", "--html", "page.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "datapoint 1 of 2: owner__other" in out
    assert "\033[" not in out  # not a terminal: no colours
    # path distance puts the completion file's siblings last, nearest the completion
    kept_rows = [line for line in out.splitlines() if line.strip().startswith(tuple("0123456789")) and "pkg/" in line]
    assert kept_rows and kept_rows[-1].split()[-1].startswith("pkg/")
    assert "cut" in out and "dropped" in out
    assert any("inproject" in line and "value = helper(1)" in line for line in out.splitlines())
    page = (tmp_path / "page.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "pkg/main.py" in page and "characters cut here" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # self-contained


@pytest.mark.slow
def test_compose_colours_on_request_and_reports_a_bad_index(run_file, tmp_path):
    coloured = lca_run("compose", str(run_file), "--color", "always", "preprocessor.max_seq_len=96", cwd=tmp_path)
    assert coloured.returncode == 0, coloured.stderr
    assert "\033[1;33m" in coloured.stdout  # inproject lines
    bad = lca_run("compose", str(run_file), "--index", "7", cwd=tmp_path)
    assert bad.returncode == 1
    assert "--index 7 is out of range" in bad.stderr and "0 to 1" in bad.stderr
