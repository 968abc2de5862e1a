"""Faults inside a training step: a non-finite loss (policy stop | skip) and a GPU out-of-memory error.

The NaN comes from the data: one sample carries a token whose embedding output is NaN (a forward hook;
the weights stay finite, as a datapoint that overflows fp16 leaves them). Non-finite weights and settings are
a different fault, tested in test_nonfinite_updates.py. CUDA cannot run here, so the out-of-memory error is raised by a forward hook as CUDA would.
"""

from __future__ import annotations

import math

import pytest
import torch

from lca_core.api.errors import RunError
from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.faults import NonFiniteLoss, datapoint_ids
from tests.factories import make_datapoint
from tests.training.tiny import SyntheticBatches
from tests.training.test_trainer import make_trainer

POISON, BAD = 5, 13  # token id whose embedding output is NaN; the sample that carries it


class PoisonedBatches(SyntheticBatches):
    def sample(self, i):
        row = super().sample(i)
        if i == BAD:
            row["input_ids"][3] = POISON
        return row


def poisoned_trainer(tmp_path, tokenizer, policy, max_iters=12):
    trainer = make_trainer(tmp_path, tokenizer, valid=False, trainer={"max_iters": max_iters, "on_nonfinite": policy},
                           checkpointing={"freq": 4})
    assert tokenizer.convert_tokens_to_ids("Ċ") != POISON
    trainer.train_data = PoisonedBatches(24, len(tokenizer), tokenizer.convert_tokens_to_ids("Ċ"))
    trainer.model.get_input_embeddings().register_forward_hook(
        lambda module, args, output: output.masked_fill((args[0] == POISON).unsqueeze(-1), float("nan")))
    step = trainer.cfg.micro_batch_size * trainer.cfg.gradient_accumulation_steps
    bad_steps = [s + 1 for s in range(max_iters) if BAD in trainer.sampler.indices(s * step, step)]
    return trainer, bad_steps


def all_finite(model):
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name


def test_stop_names_the_iteration_the_datapoints_and_the_checkpoint(tmp_path, tokenizer):
    trainer, bad_steps = poisoned_trainer(tmp_path, tokenizer, "stop")
    first = bad_steps[0]
    assert 1 < first <= 12 and first - 1 != 4  # the fixture's sampler seed puts it mid-run, off the save grid
    with pytest.raises(NonFiniteLoss) as raised:
        trainer.train()
    message = str(raised.value)
    assert f"non-finite loss (nan) at iteration {first}" in message and f"row {BAD}" in message
    saved = tmp_path / "checkpoints" / f"{first - 1:04d}"  # the good state before the bad step, saved
    assert f"saved checkpoint {saved}" in message and "on_nonfinite = \"skip\"" in message
    state, _ = CheckpointManager.load_state(saved)
    assert state["trainer"]["iteration"] == first - 1 and state["trainer"]["sample_position"] == (first - 1) * 4
    all_finite(trainer.model)
    assert trainer.logger.status == "failed"


def test_skip_drops_the_update_and_counts_it(tmp_path, tokenizer):
    trainer, bad_steps = poisoned_trainer(tmp_path, tokenizer, "skip")
    assert len(bad_steps) >= 2  # the sample comes back every epoch
    state = trainer.train()
    assert state.iteration == 12 and state.skipped_steps == len(bad_steps)
    train = {it: m for split, it, m in trainer.logger.rows if split == "train"}
    assert [it for it, m in train.items() if math.isnan(m["cross_entropy"])] == bad_steps
    assert train[12]["skipped_steps"] == len(bad_steps)
    all_finite(trainer.model)
    assert all(math.isfinite(m["cross_entropy"]) for it, m in train.items() if it not in bad_steps)


@pytest.mark.slow
def test_datapoint_ids_are_repository_and_completion_file(tmp_path):
    import datasets

    rows = [make_datapoint(repo=f"owner__r{i}", filename=f"pkg/m{i}.py") for i in range(3)]
    data = datasets.Dataset.from_list(rows)
    data.set_transform(lambda batch: {"input_ids": [[0]] * len(batch["repo"])})  # as the trainer's data is
    assert datapoint_ids(data, [2, 0]) == ["owner__r2:pkg/m2.py", "owner__r0:pkg/m0.py"]


def test_gpu_out_of_memory_names_the_shape_and_what_would_fit(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, valid=False, trainer={"max_iters": 6}, checkpointing={"freq": 0})
    calls = [0]

    def out_of_memory(module, args, output):
        calls[0] += 1
        if calls[0] == 7:  # the first micro-batch of step 4
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.1 GiB total)")

    trainer.model.model.register_forward_hook(out_of_memory)
    with pytest.raises(RunError) as raised:
        trainer.train()
    message = str(raised.value)
    assert "GPU out of memory during training at iteration 4, micro-batch of 2 × 32 tokens" in message
    assert "micro_batch_size 2, gradient_accumulation_steps 2" in message and "Tried to allocate 20.00 GiB" in message
    assert "model.gradient_checkpointing = true" in message
    assert "trainer.micro_batch_size = 1 with gradient_accumulation_steps = 4" in message
    # what it had done is kept: the state after step 3
    assert f"saved checkpoint {tmp_path / 'checkpoints' / '0003'}" in message
    assert "\n" not in message
