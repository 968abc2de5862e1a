"""[trainer] and [checkpointing]: the loop's hyper-parameters and how checkpoints are kept."""

from __future__ import annotations

from typing import Literal

import attrs

from lca_core.api.components import param
from lca_core.api import checks
from lca_core.api.checks import at_least, between


@attrs.define(kw_only=True)
class TrainerSection:
    """[trainer]: iterations, batch, AdamW, clipping, validation (defaults: the original's medium_lr preset)."""

    max_iters: int = param(600, doc="Optimizer steps.", validator=at_least(0))
    micro_batch_size: int = param(1, doc="Samples per forward pass.", validator=at_least(1))
    gradient_accumulation_steps: int = param(
        64, doc="Micro-batches per optimizer step over all processes (global batch = micro × accum, whatever the "
        "number of GPUs); each of N processes runs accum / N of them.", validator=at_least(1)
    )
    learning_rate: float = param(3.5e-5, doc="Peak learning rate (the scheduler shapes it).", validator=at_least(0))
    beta_1: float = param(0.9, doc="AdamW beta 1.", validator=between(0, 1, high_open=True))
    beta_2: float = param(0.999, doc="AdamW beta 2.", validator=between(0, 1, high_open=True))
    weight_decay: float = param(0.01, doc="AdamW weight decay, applied to parameters with ≥ 2 dimensions only.",
                                validator=at_least(0))
    max_grad_norm: float = param(2.0, doc="Gradient clipping norm (0 = no clipping).", validator=at_least(0))
    valid_freq: int = param(25, doc="Validate every N steps, and at step 0 (0 = never).",
                           validator=at_least(0))
    shuffle: bool = param(True, doc="Seeded per-epoch permutations (resumable); false = dataset order.")
    num_workers: int = param(0, doc="DataLoader worker processes composing and tokenizing.",
                            validator=at_least(0))
    prefetch_factor: int = param(2, doc="Batches prefetched per worker.", validator=at_least(1))
    on_nonfinite: Literal["stop", "skip"] = param(
        "stop", doc="A step whose loss is NaN or infinite: stop (naming the iteration, its datapoints and the "
        "checkpoint to resume from) or skip (drop that step's update, counted in skipped_steps)."
    )
    fp32_matmul_precision: Literal["highest", "high", "medium"] = param("high", doc="torch.set_float32_matmul_precision.")
    cpu_threads: int = param(
        0, doc="Threads of PyTorch's CPU ops (0 = PyTorch's default, every core). Small models on a busy "
        "machine run several times faster with 1.", validator=at_least(0)
    )
    strategy: Literal["auto", "ddp", "fsdp"] = param(
        "auto", doc="Several processes (lca-run --nproc, torchrun): ddp (replicas, one gradient all-reduce per step) or "
        "fsdp (FSDP2, weights/gradients/optimizer state sharded per decoder layer). auto: ddp unless weights, "
        "gradients and AdamW state would take over half of one GPU's memory. docs/distributed.md."
    )
    loss_impl: Literal["auto", "chunked", "liger", "full"] = param(
        "auto", doc="Cross-entropy without full-vocabulary logits: chunked (PyTorch, gradients fused into the "
        "forward pass), liger (Liger-Kernel, CUDA), full (plain logits). auto: chunked; docs/performance.md says why."
    )
    packing: bool = param(
        False, doc="Pack each micro-batch's samples end to end into one sequence (attention never crosses a sample, "
        "positions restart) instead of computing on padding; needs [preprocessor] padding = true (short samples). "
        "Choose micro_batch_size so that a micro-batch holds about the tokens you want per forward."
    )


@attrs.define(kw_only=True)
class CheckpointingSection:
    """[checkpointing]: how often to save, where to start from, and which checkpoints to keep."""

    freq: int = param(25, doc="Save every N steps (0 = only at the end).", validator=at_least(0))
    init_from: str = param(
        "resume", doc="scratch | resume (latest checkpoint, or scratch if none) | best | a checkpoint directory.",
        validator=checks.path_text,
    )
    main_metric: str = param("cross_entropy", doc="Metric that ranks checkpoints (validation, else training).")
    mode: Literal["min", "max"] = param("min", doc="Whether a lower or higher main metric is better.")
    top_k: int = param(0, doc="Keep only the k best checkpoints (0 = keep all).", validator=at_least(0))
