"""Packing and MLP recomputation change the cost of a step, never its loss or gradients (CPU, float32)."""

from __future__ import annotations

import torch

from lca_core.config.model import ModelSection
from lca_core.models.compile import checkpoint_mlps
from lca_core.models.hardware import choose_hardware
from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.packing import pack_micro_batch
from lca_core.training.trainer import Trainer
from lca_plugins.schedulers.schedules import Constant
from tests.training.tiny import SEQ_LEN, RecordingLogger, SyntheticBatches, tiny_config, tiny_model


class ShortSamples(SyntheticBatches):
    """Samples of 9 to 32 tokens, right-padded to the batch's longest as a padding preprocessor does."""

    def sample(self, i):
        full = super().sample(i)
        length = 9 + (i * 5) % (SEQ_LEN - 8)
        real = torch.arange(SEQ_LEN) < length
        return {"input_ids": torch.where(real, full["input_ids"], 0), "target_ids": torch.where(real, full["target_ids"], 0),
                "loss_mask": full["loss_mask"].roll(length - SEQ_LEN) & real,
                "completion_mask": full["completion_mask"].roll(length - SEQ_LEN) & real,
                "category_ids": torch.where(real, full["category_ids"].roll(length - SEQ_LEN), -1),
                "attention_mask": real}


def one_step(tmp_path, tokenizer, *, packing, mlp=False):
    vocab = len(tokenizer)
    config = tiny_config(tmp_path, trainer={"micro_batch_size": 4, "gradient_accumulation_steps": 2,
                                            "learning_rate": 1.0, "max_grad_norm": 0.0, "packing": packing})
    model = tiny_model(vocab)
    if mlp:
        assert checkpoint_mlps(model) == 2
    trainer = Trainer(config=config, model=model, tokenizer=tokenizer,
                      hardware=choose_hardware(ModelSection(name_or_path="tiny", device="cpu")),
                      train_data=ShortSamples(24, vocab, tokenizer.convert_tokens_to_ids("Ċ")), valid_data=None,
                      scheduler=Constant(), logger=RecordingLogger(),
                      checkpoints=CheckpointManager(tmp_path / "checkpoints"), progress=False)
    trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=1.0)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    metrics = trainer.train_step()
    return metrics, {n: before[n] - p.detach() for n, p in trainer.model.named_parameters()}


def test_packed_step_equals_the_padded_step(tmp_path, tokenizer):
    padded, padded_grads = one_step(tmp_path / "a", tokenizer, packing=False)
    packed, packed_grads = one_step(tmp_path / "b", tokenizer, packing=True)
    assert abs(packed["cross_entropy"] - padded["cross_entropy"]) < 1e-5
    for name, grad in padded_grads.items():
        assert torch.allclose(packed_grads[name], grad, atol=1e-6, rtol=1e-4), name
    assert padded_grads["model.embed_tokens.weight"].abs().sum() > 0
    assert packed["tokens_per_second"] > 0


def test_packing_drops_padding_and_restarts_positions():
    batch = ShortSamples(8, 100)[[0, 1, 2]]
    lengths = batch["attention_mask"].sum(1).tolist()
    packed = pack_micro_batch(batch, multiple=16)
    total = sum(lengths)
    assert packed["input_ids"].shape == (1, -(-total // 16) * 16)
    assert packed["attention_mask"].sum() == total and not packed["loss_mask"][0, total:].any()
    assert packed["cu_seq_lens"].tolist()[:4] == [0, lengths[0], lengths[0] + lengths[1], total]
    assert packed["position_ids"][0, lengths[0]] == 0 and packed["position_ids"][0, lengths[0] - 1] == lengths[0] - 1
    second = slice(lengths[0], lengths[0] + lengths[1])
    assert torch.equal(packed["target_ids"][0, second], batch["target_ids"][1, :lengths[1]])
    assert (packed["category_ids"][0, total:] == -1).all()


def test_recomputed_mlps_give_the_same_gradients(tmp_path, tokenizer):
    plain, plain_grads = one_step(tmp_path / "a", tokenizer, packing=False)
    recomputed, recomputed_grads = one_step(tmp_path / "b", tokenizer, packing=False, mlp=True)
    assert recomputed["cross_entropy"] == plain["cross_entropy"]
    for name, grad in plain_grads.items():
        assert torch.allclose(recomputed_grads[name], grad, atol=1e-7), name
