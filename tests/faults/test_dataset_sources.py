"""`lca-run dataset build` takes only the repository's own files: a symlink to a file outside the tree (a
real symlink to a real secret) never enters a snapshot, and a --rev that git would read as an option is
refused before git runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LCA_RUN = Path(sys.executable).with_name("lca-run")
CODE = "def helper(value):\n    total = value + 1\n    return total * 2\n\n\n" * 12


def test_symlinked_files_and_folders_from_outside_never_enter_the_dataset(tmp_path):
    secret = tmp_path / "outside" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("TOKEN = 'hf_secret_outside_the_tree'\n")
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text(CODE)
    (tree / "pkg" / "b.py").write_text(CODE.replace("helper", "other"))
    (tree / "pkg" / "leak.py").symlink_to(secret)
    (tree / "passwd").symlink_to("/etc/passwd")
    (tree / "linked").symlink_to(secret.parent, target_is_directory=True)
    out = tmp_path / "data.jsonl"
    result = subprocess.run([str(LCA_RUN), "dataset", "build", str(tree), "--out", str(out), "--min-chars", "100",
                             "--min-inproject", "0", "--min-infile", "0", "--min-snapshot-bytes", "0"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows
    for row in rows:
        names = set(row["repo_snapshot"]["filename"]) | {row["completion_file"]["filename"]}
        assert names <= {"pkg/a.py", "pkg/b.py"}, names
    assert "hf_secret_outside_the_tree" not in text and "root:" not in text


def test_a_rev_starting_with_a_dash_is_refused(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    written = tmp_path / "written-by-git"
    result = subprocess.run([str(LCA_RUN), "dataset", "build", str(repo), "--out", str(tmp_path / "o.jsonl"),
                             f"--rev=--output={written}"], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "--rev: '--output=" in result.stderr and "starts with '-'" in result.stderr
    assert not written.exists()
