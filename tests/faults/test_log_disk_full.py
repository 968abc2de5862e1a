"""A full disk under the logs: one line naming the file, no torn row, and after space is freed the resumed
run logs every iteration exactly once. A real tmpfs too small for the logs, mounted in a private user and
mount namespace (as test_disk_full.py does for checkpoints)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from tests.faults.test_disk_full import MAIN, REPO, _hf_env, _namespaces_work

SCRIPT = """
set -u
mount -t tmpfs -o size=16k tmpfs run/logs || exit 99
{python} -c "$MAIN" run.toml {args} > first.txt 2>&1; echo "first exit $?" >> first.txt
cp run/logs/train.csv first-train.csv
mount -o remount,size=4m run/logs
{python} -c "$MAIN" run.toml {args} > second.txt 2>&1; echo "second exit $?" >> second.txt
cp run/logs/train.csv final-train.csv
"""
ITERS = 80


def whole_rows(text):
    assert text.endswith("\n") or not text, "a torn last line"
    rows = list(csv.reader(io.StringIO(text)))
    assert all(len(row) == len(rows[0]) for row in rows), "a row with another number of fields"
    return [int(row[0]) for row in rows[1:]]


@pytest.mark.slow
def test_a_full_log_disk_leaves_no_torn_row_and_loses_no_iteration(project):
    if not _namespaces_work():
        pytest.skip("unshare cannot mount a private tmpfs here")
    (project / "run" / "logs").mkdir(parents=True)
    args = f"trainer.max_iters={ITERS} checkpointing.freq=2 trainer.valid_freq=0 --no-progress"
    env = {"MAIN": MAIN, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", **_hf_env()}
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                           SCRIPT.format(python=sys.executable, args=args)],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first = (project / "first.txt").read_text()
    assert "first exit 1" in first and "Traceback" not in first, first
    errors = [line for line in first.splitlines() if line.startswith("lca-run: error:")]
    assert len(errors) == 1, first
    assert f"to {project / 'run' / 'logs'}/" in errors[0] or "to run/logs/" in errors[0], errors[0]
    assert "No space left on device" in errors[0] and "the file holds every record before it, whole" in errors[0]
    logged = whole_rows((project / "first-train.csv").read_text())
    assert logged == list(range(1, len(logged) + 1)) and 0 < len(logged) < ITERS
    second = (project / "second.txt").read_text()
    assert "second exit 0" in second, second
    assert whole_rows((project / "final-train.csv").read_text()) == list(range(1, ITERS + 1))
