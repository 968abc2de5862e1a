"""The loop on a real 2-layer Llama and synthetic preprocessed batches: accumulation, validation, checkpoints."""

from __future__ import annotations

import json

import torch

from lca_core.config.model import ModelSection
from lca_core.models.hardware import choose_hardware
from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.trainer import Trainer
from lca_plugins.schedulers.schedules import Constant, CosineWarmup
from tests.training.tiny import RecordingLogger, SyntheticBatches, tiny_config, tiny_model


def make_trainer(tmp_path, tokenizer, *, trainer=None, checkpointing=None, valid=True, scheduler=None):
    config = tiny_config(tmp_path, trainer=trainer, checkpointing=checkpointing)
    vocab = len(tokenizer)
    newline = tokenizer.convert_tokens_to_ids("Ċ")
    return Trainer(
        config=config, model=tiny_model(vocab), tokenizer=tokenizer,
        hardware=choose_hardware(ModelSection(name_or_path="tiny", device="cpu")),
        train_data=SyntheticBatches(24, vocab, newline), valid_data=SyntheticBatches(6, vocab, newline) if valid else None,
        scheduler=scheduler or CosineWarmup(warmup_iters=2, lr_decay_iters=6, min_lr=1e-4),
        logger=RecordingLogger(), checkpoints=CheckpointManager(tmp_path / "checkpoints"), progress=False,
    )


def weight_deltas_of_one_step(tmp_path, tokenizer, micro, accum):
    """Weights change by exactly -gradient under SGD with lr 1: the step's gradient, read back."""
    trainer = make_trainer(tmp_path, tokenizer, valid=False, scheduler=Constant(),
                           trainer={"micro_batch_size": micro, "gradient_accumulation_steps": accum,
                                    "learning_rate": 1.0, "max_grad_norm": 0.0})
    trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=1.0)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train_step()
    return {n: before[n] - p.detach() for n, p in trainer.model.named_parameters()}


def test_accumulation_is_weighted_by_target_tokens(tmp_path, tokenizer):
    one_batch = weight_deltas_of_one_step(tmp_path / "a", tokenizer, micro=4, accum=1)
    four_micro = weight_deltas_of_one_step(tmp_path / "b", tokenizer, micro=1, accum=4)

    # The reference: mean cross-entropy over every loss token of the 4 samples (which differ in loss tokens).
    model = tiny_model(len(tokenizer))
    first = make_trainer(tmp_path / "c", tokenizer, valid=False)
    batch = first.train_data[first.sampler.indices(0, 4)]
    assert len(set(batch["loss_mask"].sum(1).tolist())) > 1
    logits = model(input_ids=batch["input_ids"]).logits
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["target_ids"].flatten(), reduction="none")
    (ce[batch["loss_mask"].flatten()].mean()).backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(one_batch[name], param.grad, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(four_micro[name], param.grad, rtol=1e-4, atol=1e-7)


def test_training_validates_checkpoints_and_lowers_validation_loss(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, trainer={"max_iters": 12, "valid_freq": 6, "learning_rate": 1e-2},
                           checkpointing={"freq": 4}, scheduler=CosineWarmup(warmup_iters=2, lr_decay_iters=12))
    state = trainer.train()

    assert state.iteration == 12 and state.sample_position == 12 * 4
    rows = trainer.logger.rows
    valid = [(it, m) for split, it, m in rows if split == "valid"]
    assert [it for it, _ in valid] == [0, 6, 12]  # step 0, every valid_freq, and the end
    assert valid[-1][1]["cross_entropy"] < valid[0][1]["cross_entropy"] - 0.5
    train = [m for split, _, m in rows if split == "train"]
    assert len(train) == 12 and {"learning_rate", "grad_norm", "tokens_per_second", "inproject_cross_entropy",
                                 "completion_cross_entropy", "detached_cross_entropy"} <= set(train[0])
    assert train[0]["learning_rate"] == 1e-2 / 2  # warmup (it+1)/W at it = 0
    assert {"completion_exact_match", "top_1_accuracy", "inproject_top_3_accuracy"} <= set(valid[0][1])
    assert trainer.logger.status == "completed"

    names = [p.name for p in trainer.checkpoints.complete()]
    assert names == ["0004", "0008", "0012"]
    last = tmp_path / "checkpoints" / "0012"
    metrics = json.loads((last / "metrics.json").read_text())
    assert metrics["iteration_number"] == 12 and metrics["valid_metrics"]["cross_entropy"] == valid[-1][1]["cross_entropy"]
    state_file = torch.load(last / "state.pt", weights_only=True)
    assert state_file["trainer"]["sample_position"] == 48 and state_file["trainer"]["logger_state"] == {"run_id": "tiny-run"}
    assert (last / "model" / "config.json").exists() and (last / "model" / "tokenizer.json").exists()
    assert set(torch.load(last / "optim.pt", weights_only=True)) == {"optimizer", "scaler"}


def test_weight_decay_only_on_matrices(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, valid=False)
    decayed, plain = trainer.optimizer.param_groups
    assert decayed["weight_decay"] == 0.01 and all(p.dim() >= 2 for p in decayed["params"])
    assert plain["weight_decay"] == 0.0 and plain["params"] and all(p.dim() < 2 for p in plain["params"])
