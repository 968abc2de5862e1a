"""``lca-run eval`` under real signals: SIGTERM/SIGINT stop it with a message and an exit code (143, 130),
every finished datapoint stays on disk, and the same command resumes where it stopped, with the numbers
of an uninterrupted evaluation. The real console script in a subprocess; a composer plugin slows it down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SLOW_COMPOSER = '''
"""path_distance, slowed down, leaving a file per composed datapoint in $EVAL_MARKS."""
import os
import time
from pathlib import Path

from lca_core import hookimpl
from lca_plugins.composers.path_distance import PathDistanceComposer


class SlowComposer(PathDistanceComposer):
    def compose(self, datapoint):
        marks = Path(os.environ["EVAL_MARKS"])
        marks.mkdir(exist_ok=True)
        (marks / f"{len(list(marks.iterdir()))}").write_text(datapoint["completion_file"]["filename"])
        time.sleep(float(os.environ.get("EVAL_SLEEP", "0")))
        return super().compose(datapoint)


@hookimpl
def lca_register_composers(register):
    register("slow_path", SlowComposer)
'''
ARGS = ["eval", "run.toml", "--checkpoint", "base", "--mode", "teacher-forced", "--composer", "file_level",
        "--composer", "slow_path", "--max-seq-len", "160", "--no-progress"]


def start(project: Path, *args: str, marks: str, sleep: float) -> subprocess.Popen:
    env = {**os.environ, "EVAL_MARKS": str(project / marks), "EVAL_SLEEP": str(sleep), "LCA_TRACEBACK": "0"}
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.Popen([str(script), *args], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def categories(path: Path) -> list:
    return [(r["model"], r["composer"], r["categories"], r["context_tokens"])
            for r in json.loads(path.read_text())["results"]]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_eval_with_a_message_and_the_same_command_resumes(project, signum):
    (project / "slow_eval.py").write_text(SLOW_COMPOSER)
    with open(project / "run.toml", "a") as handle:
        handle.write('\n[plugins]\nmodules = ["slow_eval.py"]\n')
    process = start(project, *ARGS, "--out", "out", marks="marks", sleep=1.0)
    # file_level is done (eval.json written) and slow_path has finished a few datapoints
    wait_for(lambda: (project / "out" / "eval.json").exists() and len(list((project / "marks").glob("*"))) >= 3)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert f"lca-run: stopped: {name}: evaluation stopped during base · slow_path" in stderr
    assert "1 of 2 model × composer results" in stderr and "run `lca-run eval run.toml" in stderr
    assert "Traceback" not in stderr
    partial = json.loads((project / "out" / "eval.json").read_text())
    assert partial["complete"] is False and [r["composer"] for r in partial["results"]] == ["file_level"]
    saved = [p for p in (project / "out" / "progress").glob("base-slow_path-*.jsonl")]
    finished = len(saved[0].read_text().splitlines()) - 1  # after the identity line
    assert finished >= 2
    if signum == signal.SIGINT:
        return

    resumed = start(project, *ARGS, "--out", "out", marks="marks-resumed", sleep=0)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"resuming base · slow_path: {finished} of 8 datapoints done before" in stderr
    assert len(list((project / "marks-resumed").glob("*"))) == 8 - finished  # the saved ones are not composed again
    assert json.loads((project / "out" / "eval.json").read_text())["complete"] is True
    assert not (project / "out" / "progress").exists()

    fresh = start(project, *ARGS, "--out", "fresh", marks="marks-fresh", sleep=0)
    _, stderr = fresh.communicate(timeout=300)
    assert fresh.returncode == 0, stderr
    assert categories(project / "out" / "eval.json") == categories(project / "fresh" / "eval.json")
