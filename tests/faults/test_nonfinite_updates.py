"""Non-finite settings and weights: caught before the optimizer step writes them, under either policy, and the
checkpoint a run names as the one to resume from holds finite weights. Real tiny Llama, real AdamW."""

from __future__ import annotations

import pytest
import torch

from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.faults import NonFiniteModel
from tests.training.test_trainer import make_trainer


class BrokenSchedule:
    """A scheduler plugin's bug: the learning rate (or, through it, any AdamW setting) turns infinite."""

    def __init__(self, at: int, value: float):
        self.at, self.value = at, value

    def lr(self, iteration, max_lr):
        return self.value if iteration + 1 >= self.at else max_lr


def finite_weights(folder):
    from safetensors.torch import load_file

    weights = load_file(folder / "model" / "model.safetensors")
    return all(bool(torch.isfinite(t).all()) for t in weights.values())


@pytest.mark.parametrize("policy", ["stop", "skip"])
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_learning_rate_is_refused_before_the_step(tmp_path, tokenizer, policy, value):
    trainer = make_trainer(tmp_path, tokenizer, valid=False, scheduler=BrokenSchedule(4, value),
                           trainer={"max_iters": 8, "on_nonfinite": policy}, checkpointing={"freq": 2})
    with pytest.raises(NonFiniteModel) as raised:
        trainer.train()
    message = str(raised.value)
    assert f"the optimizer's lr is {value} at iteration 4" in message and "step was not taken" in message
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())
    # the state before the refused step is saved, and it is good
    assert f"saved checkpoint {tmp_path / 'checkpoints' / '0003'}" in message
    for folder in CheckpointManager(tmp_path / "checkpoints").complete():
        assert finite_weights(folder), folder


@pytest.mark.parametrize("policy", ["stop", "skip"])
def test_weights_gone_non_finite_stop_the_run_and_are_never_saved(tmp_path, tokenizer, policy):
    trainer = make_trainer(tmp_path, tokenizer, valid=False, trainer={"max_iters": 8, "on_nonfinite": policy},
                           checkpointing={"freq": 2})
    real_step = trainer.optimizer.step

    def step_that_breaks_a_weight(*args, **kwargs):  # an update gone wrong at step 3
        out = real_step(*args, **kwargs)
        if trainer.state.iteration == 2:
            with torch.no_grad():
                trainer.model.model.norm.weight[0] = float("inf")
        return out

    trainer.optimizer.step = step_that_breaks_a_weight
    with pytest.raises(NonFiniteModel) as raised:
        trainer.train()  # "skip" cannot help either: every later step would be skipped
    message = str(raised.value)
    assert "the model holds NaN or infinite values at iteration 4: model.norm.weight" in message
    assert "not the data" in message and "datapoints" not in message
    assert f"last complete checkpoint: {tmp_path / 'checkpoints' / '0002'}" in message
    checkpoints = CheckpointManager(tmp_path / "checkpoints").complete()
    assert [p.name for p in checkpoints] == ["0002"] and finite_weights(checkpoints[0])


def test_a_non_finite_buffer_is_blamed_on_the_model_not_the_data(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, valid=False, trainer={"max_iters": 4}, checkpointing={"freq": 2})
    rotary = trainer.model.model.rotary_emb
    rotary.inv_freq.fill_(float("nan"))  # what rope_theta = nan gives
    with pytest.raises(NonFiniteModel, match="model.rotary_emb.inv_freq.*rope_theta"):
        trainer.train()
    assert not CheckpointManager(tmp_path / "checkpoints").complete()
