"""Small real parts for the training tests: a locally trained BPE, a 2-layer Llama, synthetic preprocessed batches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from lca_core.config.sections import RunSection
from lca_core.config.training import CheckpointingSection, TrainerSection

SEQ_LEN = 32
CODE = "def add(a, b):\n    return a + b\n\n\nclass Point:\n    def __init__(self, x):\n        self.x = x\n"


def tiny_tokenizer(folder: Path):
    from lca_core.models.local_tokenizer import build_local_tokenizer

    return build_local_tokenizer([CODE] * 20, folder, vocab_size=300)


def tiny_model(vocab_size: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         attention_dropout=0.0, use_cache=False)
    return LlamaForCausalLM(config)


class SyntheticBatches:
    """Preprocessed LM samples, as a dataset with the preprocessor transform set returns them.

    Sample i is a learnable arithmetic token sequence; its loss mask covers a tail whose length
    varies with i, so micro-batches carry different numbers of loss tokens.
    """

    def __init__(self, size: int, vocab_size: int, newline_id: int = 0, seq_len: int = SEQ_LEN):
        self.size, self.vocab, self.newline, self.seq_len = size, vocab_size, newline_id, seq_len

    def __len__(self) -> int:
        return self.size

    def sample(self, i: int) -> dict[str, torch.Tensor]:
        j = torch.arange(self.seq_len + 1)
        tokens = 10 + (i * 7 + j * (1 + i % 3)) % (self.vocab - 10)
        tokens[j % 6 == 5] = self.newline  # "lines" of 6 tokens for exact match
        n_loss = 6 + (i * 5) % 17
        loss = torch.zeros(self.seq_len, dtype=torch.bool)
        loss[-n_loss:] = True
        completion = torch.zeros(self.seq_len, dtype=torch.bool)
        completion[-(n_loss + 3):] = True
        category = torch.where(completion, (torch.arange(self.seq_len) // 6) % 7, -1)
        return {"input_ids": tokens[:-1], "target_ids": tokens[1:], "loss_mask": loss,
                "completion_mask": completion, "category_ids": category,
                "attention_mask": torch.ones(self.seq_len, dtype=torch.bool)}

    def __getitem__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        rows = [self.sample(i) for i in indices]
        return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def tiny_config(run_dir: Path, *, trainer: dict | None = None, checkpointing: dict | None = None, seed: int = 1):
    """The parts of a RunConfig the Trainer reads."""
    trainer_section = TrainerSection(**{"max_iters": 6, "micro_batch_size": 2, "gradient_accumulation_steps": 2,
                                        "learning_rate": 3e-3, "valid_freq": 3, "max_grad_norm": 1.0,
                                        "weight_decay": 0.01, "cpu_threads": 1, **(trainer or {})})
    return SimpleNamespace(run=RunSection(seed=seed), trainer=trainer_section,
                           checkpointing=CheckpointingSection(**{"freq": 2, **(checkpointing or {})}),
                           run_dir=run_dir, run_name="tiny")


class RecordingLogger:
    """A logger that keeps rows in memory (implements the LoggerBase calls the trainer makes)."""

    def __init__(self):
        self.rows: list[tuple[str, int, dict]] = []
        self.status = None

    def start(self, *, resumed_from, state):
        self.resumed_from, self.started_state = resumed_from, state

    def log(self, split, iteration, metrics):
        self.rows.append((split, iteration, dict(metrics)))

    def message(self, level, content):
        pass

    def state(self):
        return {"run_id": "tiny-run"}

    def finish(self, status):
        self.status = status
