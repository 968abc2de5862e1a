"""A real training process for the kill-and-resume test: the Trainer, the local logger, resume from checkpoints.

``kill`` makes the process die at a chosen point: ("forward", n) waits at its n-th forward pass for the
test to SIGKILL it from outside; ("save", it) SIGKILLs itself half-way through writing checkpoint ``it``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

# Imported here, not in the function: the forkserver preloads this module once for every run.
import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from lca_core.api.components import Runtime
from lca_core.config.model import ModelSection
from lca_core.models.hardware import choose_hardware
from lca_core.training.build import quiet_libraries, seed_everything
from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.resume import load_resume
from lca_core.training.trainer import Trainer
from lca_plugins.loggers.local import LocalLogger
from lca_plugins.schedulers.schedules import CosineWarmup
from tests.training.tiny import SyntheticBatches, tiny_config, tiny_model


def run_training(run_dir: str, max_iters: int, kill: tuple[str, int] | None, tokenizer_dir: str) -> None:
    run_dir = Path(run_dir)
    torch.set_num_threads(1)
    quiet_libraries()
    seed_everything(7)
    config = tiny_config(run_dir, trainer={"max_iters": max_iters, "valid_freq": 4},
                         checkpointing={"freq": 2, "init_from": "resume"})
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    checkpoints = CheckpointManager(run_dir / "checkpoints")
    start = checkpoints.resolve_init("resume", lambda p: Path(p))
    model = LlamaForCausalLM.from_pretrained(start / "model") if start else tiny_model(len(tokenizer))
    # Dropout on: the resumed run must also restore the RNG stream to match.
    model.config.attention_dropout = 0.1
    for layer in model.model.layers:
        layer.self_attn.attention_dropout = 0.1
    logger = LocalLogger()
    logger.setup(Runtime(run_dir=run_dir))
    newline = tokenizer.convert_tokens_to_ids("Ċ")
    trainer = Trainer(config=config, model=model, tokenizer=tokenizer,
                      hardware=choose_hardware(ModelSection(name_or_path="tiny", device="cpu")),
                      train_data=SyntheticBatches(20, len(tokenizer), newline),
                      valid_data=SyntheticBatches(4, len(tokenizer), newline),
                      scheduler=CosineWarmup(warmup_iters=2, lr_decay_iters=max_iters, min_lr=1e-4),
                      logger=logger, checkpoints=checkpoints, resume=load_resume(start) if start else None,
                      progress=False)
    if kill and kill[0] == "forward":
        calls = [0]

        def wait_to_be_killed(module, args, output):
            calls[0] += module.training  # training forwards only
            if calls[0] == kill[1] and module.training:
                (run_dir / "waiting").write_text(str(os.getpid()))
                time.sleep(600)

        # the decoder runs in every training forward, whether the trainer asks for logits or hidden states
        model.get_decoder().register_forward_hook(wait_to_be_killed)
    if kill and kill[0] == "save":
        real_save = torch.save

        def save_then_die(obj, path, *args, **kwargs):
            real_save(obj, path, *args, **kwargs)
            if f".{kill[1]:04d}.tmp" in str(path) and str(path).endswith("optim.pt"):
                os.kill(os.getpid(), signal.SIGKILL)

        torch.save = save_then_die
    trainer.train()
