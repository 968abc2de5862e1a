"""A checkpoint is complete only with its manifest and every file it lists, unchanged: a checkpoint with a
file deleted, cut short or altered is reported and the previous complete one is resumed from."""

from __future__ import annotations

import pytest

from tests.faults.project import iterations, lca_run


def _damage(folder, how):
    if how == "optim.pt deleted":
        (folder / "optim.pt").unlink()
    elif how == "state.pt deleted":
        (folder / "state.pt").unlink()
    elif how == "manifest deleted":
        (folder / "manifest.json").unlink()
    elif how == "weights cut short":
        weights = folder / "model" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:-100])
    elif how == "weights altered":  # same size, other bytes: only the hash tells
        weights = folder / "model" / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0xFF
        weights.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize("how, why", [
    ("optim.pt deleted", "optim.pt is missing"),
    ("state.pt deleted", "state.pt is missing"),
    ("manifest deleted", "it has no manifest.json"),
    ("weights cut short", "model/model.safetensors has"),
    ("weights altered", "model/model.safetensors differs from what was saved (SHA-256 mismatch)"),
])
def test_a_damaged_latest_checkpoint_is_reported_and_the_previous_one_resumed(project, how, why):
    code, text = lca_run(project, "run.toml", "--no-progress")  # 4 steps: checkpoints 0002, 0004
    assert code == 0, text
    checkpoints = project / "run" / "checkpoints"
    _damage(checkpoints / "0004", how)

    code, text = lca_run(project, "run.toml", "trainer.max_iters=6", "--no-progress")
    assert code == 0, text
    assert "checkpoint run/checkpoints/0004 is" in text and why in text
    assert "steps 2 → 6 (resumed from 2)" in text
    # steps 3 and 4 were trained again; no step is logged twice, none was lost
    assert iterations(project / "run" / "logs" / "train.csv") == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in checkpoints.iterdir()) == ["0002", "0004", "0006"]  # 0004 written anew


@pytest.mark.slow
def test_init_from_an_incomplete_checkpoint_is_refused(project):
    code, text = lca_run(project, "run.toml", "--no-progress")
    assert code == 0, text
    (project / "run" / "checkpoints" / "0004" / "state.pt").unlink()
    code, text = lca_run(project, "run.toml", "checkpointing.init_from='run/checkpoints/0004'", "run.name='other'",
                         "run.dir='other'", "--no-progress")
    assert code == 2, text
    assert "checkpointing.init_from: checkpoint" in text and "state.pt is missing" in text
    assert not (project / "other" / "checkpoints").exists() or not any((project / "other" / "checkpoints").iterdir())
