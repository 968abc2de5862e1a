"""The process the kill trials SIGKILL: tests.training.kill_target's real training run, optionally made to
hang half-way through writing a checkpoint (after the weights, before optim.pt) so the kill lands there."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from tests.training.kill_target import run_training

HANGING = "hanging-in-save"


def train(run_dir: str, max_iters: int, tokenizer_dir: str, hang_in_save: int = 0) -> None:
    """Train to ``max_iters``; with ``hang_in_save = k`` stop for good inside this process's k-th checkpoint write."""
    if hang_in_save:
        real_save, saves = torch.save, [0]

        def hanging_save(obj, path, *args, **kwargs):
            if str(path).endswith("optim.pt"):
                saves[0] += 1
                if saves[0] == hang_in_save:
                    Path(run_dir, HANGING).write_text(str(path))
                    time.sleep(600)
            real_save(obj, path, *args, **kwargs)

        torch.save = hanging_save
    run_training(run_dir, max_iters, None, tokenizer_dir)
    os._exit(0)  # skip interpreter teardown: nothing is left to flush
