"""`lca-run dataset build`: hand-made repositories whose line categories are known line by line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lca_core.data.build.builder import BuildOptions, build_dataset
from lca_core.data.build.writer import write_datapoints
from lca_core.data.schema import lca_features
from lca_core.data.validation import validate
from tests.data.history_repo import make_history_repo, python_sources

SNAPSHOT = {
    "pkg/__init__.py": "",
    "pkg/util.py": "def helper(x):\n    return x + 1\n\n\nclass Thing:\n    def compute(self, v):\n        return v\n",
    "README.md": "# Demo project\n",
}
EXTRA = "def brand_new(v):\n    return v\n"  # added with the completion file: its names are "commited"
MAIN = '''"""Main module of the demo."""
import os
from pkg.util import helper, Thing
from pkg.extra import brand_new


def local_fn(a):
    return a * 2


def main(value):
    thing = Thing()
    result = brand_new(value)
    doubled = local_fn(result)
    print(doubled)
    # a comment mentioning helper()
    total = thing.compute(doubled)
    text = """
helper is mentioned here
"""
    x = 1
    return os.path.join(text, total)


class Runner:
    def go(self, helper):
        return helper + 1000

    def again(self):
        return self.go(10000)
'''
#: the right answer, line by line (0-based)
EXPECTED = {
    "commited": [12],                               # brand_new: declared only in a file the commit adds
    "inproject": [11, 16],                          # Thing (imported from pkg), thing.compute() (declared in pkg)
    "infile": [13, 29],                             # local_fn(), self.go()
    "common": [14, 21],                             # print(), .join()
    "non_informative": [0, 1, 2, 3, 15, 18, 19, 20],  # docstring, imports, comment, inside a string, short line
    "other": [6, 7, 10, 17, 24, 25, 26, 28],          # defs; `helper` shadowed by a parameter on line 26
}
OPTIONS = BuildOptions(min_chars=100, progress=False)


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)


@pytest.fixture
def demo_repo(tmp_path) -> Path:
    repo = tmp_path / "demo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, SNAPSHOT)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    _write(repo, {"pkg/main.py": MAIN, "pkg/extra.py": EXTRA})
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "add main")
    _git(repo, "remote", "add", "origin", "https://github.com/acme/demo.git")
    return repo


def test_git_commit_gives_known_categories(demo_repo):
    [datapoint] = list(build_dataset([demo_repo], OPTIONS))
    assert datapoint["repo"] == "acme__demo"
    assert datapoint["completion_file"] == {"filename": "pkg/main.py", "content": MAIN}
    assert datapoint["repo_snapshot"]["filename"] == sorted(SNAPSHOT)  # the parent's tree: no main.py, no extra.py
    assert datapoint["completion_lines_raw"] == EXPECTED
    head = subprocess.run(["git", "-C", str(demo_repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert datapoint["commit_hash"] == head.stdout.strip()
    sampled = datapoint["completion_lines"]
    assert set(sampled["random"]) <= set(EXPECTED["other"]) and len(sampled["random"]) == 8
    assert all(sampled[k] == EXPECTED[k] for k in EXPECTED if k != "other")


def test_plain_directory_uses_every_other_file_as_snapshot(tmp_path):
    root = tmp_path / "plain"
    _write(root, {**SNAPSHOT, "pkg/main.py": MAIN, "pkg/extra.py": EXTRA})
    [datapoint] = list(build_dataset([root], OPTIONS))
    assert datapoint["repo"] == "local__plain" and len(datapoint["commit_hash"]) == 40
    assert datapoint["repo_snapshot"]["filename"] == sorted([*SNAPSHOT, "pkg/extra.py"])
    # no commit: brand_new is declared in the snapshot, so its line is inproject
    assert datapoint["completion_lines_raw"]["inproject"] == [11, 12, 16]
    assert datapoint["completion_lines_raw"]["commited"] == []


@pytest.mark.slow
def test_built_dataset_round_trips_with_exact_lca_features(demo_repo, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "built.parquet"
    assert write_datapoints(build_dataset([demo_repo], OPTIONS), out) == 1
    dataset = load_dataset("parquet", data_files=str(out), split="train")
    assert dataset.features == lca_features()
    assert dataset[0]["completion_lines_raw"] == EXPECTED
    assert validate(dataset).problems == []


def test_history_build_is_deterministic_and_bounded(tmp_path):
    import pluggy

    files = python_sources([Path(pluggy.__file__).parent], limit=12)
    repo = make_history_repo(tmp_path / "history", files)
    options = BuildOptions(per_repo=4, seed=3, progress=False)
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert write_datapoints(build_dataset([repo], options), first) == 4
    write_datapoints(build_dataset([repo], options), second)
    assert first.read_bytes() == second.read_bytes()
    from datasets import load_dataset

    dataset = load_dataset("parquet", data_files=str(first), split="train")
    assert len(set(dataset["commit_hash"])) == 4 and validate(dataset).problems == []
    for row in dataset:
        assert row["completion_file"]["filename"] not in row["repo_snapshot"]["filename"]
        assert 800 <= len(row["completion_file"]["content"]) <= 25_000
    small = BuildOptions(per_repo=0, max_snapshot_bytes=20_000, progress=False)
    sizes = [sum(map(len, dp["repo_snapshot"]["content"])) for dp in build_dataset([repo], small)]
    assert sizes and max(sizes) <= 20_000


@pytest.mark.slow
def test_cli_build_and_check(demo_repo, tmp_path):
    out = tmp_path / "cli.parquet"
    lca_run = Path(sys.executable).with_name("lca-run")
    result = subprocess.run([str(lca_run), "dataset", "build", str(demo_repo), "--out", str(out), "--min-chars", "100",
                             "--exclude", "*.md"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "wrote 1 datapoints" in result.stdout
    result = subprocess.run([str(lca_run), "dataset", "check", str(out)], capture_output=True, text=True)
    assert result.returncode == 0 and "1 valid datapoints from 1 repositories" in result.stdout
    result = subprocess.run([str(lca_run), "dataset", "build", str(demo_repo), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "no datapoints were built" in result.stderr  # main.py < 800 chars


def test_two_processes_writing_the_same_dataset_file_both_succeed(tmp_path):
    """Two runs building one cached dataset at once (seen on a 2-GPU machine): no clash on a shared temp file."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "same.jsonl"
    script = textwrap.dedent(f"""
        import time
        from lca_core.data.build.writer import write_datapoints
        def rows():
            for i in range(20):
                time.sleep(0.02)
                yield {{"i": i}}
        assert write_datapoints(rows(), {str(out)!r}) == 20
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(out.read_text().splitlines()) == 20
    assert not list(tmp_path.glob(".*partial"))
