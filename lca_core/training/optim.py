"""AdamW as the original builds it (weight decay only on ≥2-D parameters, fused kernels where available) and the gradient scaler."""

from __future__ import annotations

from typing import Any


def build_optimizer(model: Any, trainer: Any) -> Any:
    """AdamW over the trainable parameters; biases and norms (1-D) get no weight decay."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": trainer.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    kwargs = {"lr": trainer.learning_rate, "betas": (trainer.beta_1, trainer.beta_2)}
    try:
        return torch.optim.AdamW(groups, fused=True, **kwargs)
    except (RuntimeError, ValueError):  # no fused kernel for this device/dtype
        return torch.optim.AdamW(groups, **kwargs)


def set_learning_rate(optimizer: Any, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def build_grad_scaler(device_type: str, enabled: bool, *, sharded: bool) -> Any:
    """The fp16 gradient scaler (a no-op unless ``enabled``); under FSDP one that checks every rank's shards."""
    import torch

    if sharded and enabled:
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

        return ShardedGradScaler(device_type)
    return torch.amp.GradScaler(device_type, enabled=enabled)
