"""A full disk while saving: a clear error, the previous checkpoint intact, resumable once space is freed.

The first test fills a real tmpfs (mounted in a private user + mount namespace, as `unshare` allows
without privileges): that is how ENOSPC really arrives — as safetensors' SafetensorError or torch's
"unexpected pos" RuntimeError, not as an OSError. The second patches ``torch.save`` to raise ENOSPC
in this process, so the guarantee is tested where namespaces are not available too.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.faults import CheckpointWriteError
from tests.faults.project import start_lca_run

REPO = Path(__file__).resolve().parents[2]
#: a checkpoint of the project's model takes ~520 KiB: two fit, the third does not
TMPFS_SIZE = "1400k"

SCRIPT = """
set -u
mount -t tmpfs -o size={size} tmpfs run/checkpoints || exit 99
{python} -c "$MAIN" run.toml --no-progress > first.txt 2>&1; echo "first exit $?" >> first.txt
ls -a run/checkpoints > after-first.txt
mount -o remount,size=20m run/checkpoints
{python} -c "$MAIN" run.toml --no-progress > second.txt 2>&1; echo "second exit $?" >> second.txt
cp -r run/checkpoints/0002 run/checkpoints/0006 kept/
"""
MAIN = "import sys; from lca_core.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt || mount -t tmpfs -o size=64k tmpfs /tmp"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
def test_a_full_tmpfs_fails_the_save_cleanly_and_the_run_resumes(project):
    if not _namespaces_work():
        pytest.skip("unshare cannot mount a private tmpfs here; test_enospc_in_a_save covers the logic")
    (project / "run.toml").write_text((project / "run.toml").read_text().replace("max_iters = 4", "max_iters = 6"))
    reference = project.parent / "reference"  # the same run on a roomy disk, at the same time
    shutil.copytree(project, reference)
    process, out = start_lca_run(reference, "run.toml", "--no-progress")

    (project / "run" / "checkpoints").mkdir(parents=True)
    (project / "kept").mkdir()
    env = {"MAIN": MAIN, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", **_hf_env()}
    script = SCRIPT.format(size=TMPFS_SIZE, python=sys.executable)
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first = (project / "first.txt").read_text()
    # one clear line: which checkpoint, where, why, that the previous one is intact, what to do
    assert "first exit 1" in first and "Traceback" not in first, first
    error = [line for line in first.splitlines() if line.startswith("lca-run: error:")]
    assert len(error) == 1 and "cannot write checkpoint 0006" in error[0] and "No space left on device" in error[0]
    assert "checkpoint 0004 is intact" in error[0] and "Free space" in error[0]
    # nothing half-written left behind, the complete ones kept
    assert (project / "after-first.txt").read_text().split() == [".", "..", "0002", "0004"]
    second = (project / "second.txt").read_text()
    assert "second exit 0" in second and "resumed from 4" in second, second

    process.join(120)
    assert process.exitcode == 0, out.read_text()
    final = "model/model.safetensors"
    want, have = load_file(reference / "run" / "checkpoints" / "0006" / final), load_file(project / "kept" / "0006" / final)
    assert all(torch.equal(want[k], have[k]) for k in want)


def _hf_env():
    return {k: v for k, v in os.environ.items() if k.startswith(("HF_", "WANDB_", "TOKENIZERS_"))}


@pytest.mark.slow
def test_enospc_in_a_save(tmp_path, tokenizer, monkeypatch):
    from tests.training.test_trainer import make_trainer

    def run(max_iters):
        return make_trainer(tmp_path, tokenizer, trainer={"max_iters": max_iters}, checkpointing={"freq": 2})

    real_save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        if ".0004.tmp" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    trainer = run(6)
    with pytest.raises(CheckpointWriteError, match="cannot write checkpoint 0004.*No space left on device.*"
                                                   "checkpoint 0002 is intact"):
        trainer.train()
    assert trainer.logger.status == "failed"
    manager = CheckpointManager(tmp_path / "checkpoints")
    assert [p.name for p in manager.complete()] == ["0002"]
    assert not list((tmp_path / "checkpoints").glob(".*"))  # the partial copy was removed
    state, _ = CheckpointManager.load_state(manager.latest())
    assert state["trainer"]["iteration"] == 2

    monkeypatch.setattr(torch, "save", real_save)  # space freed: the run resumes from 0002
    from lca_core.training.resume import load_resume, restore

    again = run(6)
    restore(again, load_resume(manager.latest()))
    assert again.train().iteration == 6
    assert [p.name for p in manager.complete()] == ["0002", "0004", "0006"]
