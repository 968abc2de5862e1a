"""The built-in schedules; each is a pure function of the iteration."""

from __future__ import annotations

import math

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.api.schedulers import SchedulerBase


def _non_negative(instance, attribute, value):
    if value < 0:
        raise ParamError(attribute.name, f"must be ≥ 0, got {value}")


@attrs.define(kw_only=True)
class Constant(SchedulerBase):
    """The peak learning rate at every iteration."""

    def lr(self, iteration: int, max_lr: float) -> float:
        return max_lr


@attrs.define(kw_only=True)
class _WarmupDecay(SchedulerBase):
    """Linear warmup to max_lr, a `decay` shape down to min_lr at lr_decay_iters, then min_lr."""

    warmup_iters: int = param(50, doc="Linear warmup steps: lr = max_lr·(it+1)/warmup_iters.", validator=_non_negative)
    lr_decay_iters: int = param(0, doc="Iteration where decay reaches min_lr (0 = trainer.max_iters).",
                                validator=_non_negative)
    min_lr: float = param(5e-8, doc="Learning rate at and after lr_decay_iters.", validator=_non_negative)

    def __attrs_post_init__(self):
        if self.lr_decay_iters and self.lr_decay_iters < self.warmup_iters:
            raise ParamError("lr_decay_iters", f"must be ≥ warmup_iters ({self.warmup_iters}), got {self.lr_decay_iters}")

    @property
    def decay_iters(self) -> int:
        return self.lr_decay_iters or self.max_iters

    def lr(self, iteration: int, max_lr: float) -> float:
        if iteration < self.warmup_iters:
            return max_lr * (iteration + 1) / self.warmup_iters
        if iteration > self.decay_iters:
            return self.min_lr
        span = self.decay_iters - self.warmup_iters
        return self.decay((iteration - self.warmup_iters) / span if span > 0 else 1.0, max_lr)

    def decay(self, ratio: float, max_lr: float) -> float:  # pragma: no cover - abstract
        """The learning rate at ``ratio`` ∈ [0, 1] of the way from warmup's end to lr_decay_iters."""
        raise NotImplementedError


@attrs.define(kw_only=True)
class CosineWarmup(_WarmupDecay):
    """The original's schedule: linear warmup, cosine decay to min_lr, then flat."""

    def decay(self, ratio: float, max_lr: float) -> float:
        return self.min_lr + 0.5 * (max_lr - self.min_lr) * (1.0 + math.cos(math.pi * ratio))


@attrs.define(kw_only=True)
class Linear(_WarmupDecay):
    """Linear warmup, then a straight line from max_lr to min_lr at lr_decay_iters."""

    def decay(self, ratio: float, max_lr: float) -> float:
        return max_lr + (self.min_lr - max_lr) * ratio


@attrs.define(kw_only=True)
class WarmupStableDecay(SchedulerBase):
    """Warmup–stable–decay: linear warmup, max_lr plateau, linear decay over the last decay_fraction."""

    warmup_iters: int = param(50, doc="Linear warmup steps.", validator=_non_negative)
    decay_fraction: float = param(0.2, doc="Share of trainer.max_iters spent decaying at the end.")
    min_lr: float = param(5e-8, doc="Learning rate reached at the last iteration.", validator=_non_negative)

    def __attrs_post_init__(self):
        if not 0.0 <= self.decay_fraction <= 1.0:
            raise ParamError("decay_fraction", f"must be in [0, 1], got {self.decay_fraction}")

    def lr(self, iteration: int, max_lr: float) -> float:
        if iteration < self.warmup_iters:
            return max_lr * (iteration + 1) / self.warmup_iters
        decay_iters = round(self.decay_fraction * self.max_iters)
        decay_start = self.max_iters - decay_iters
        if iteration < decay_start or decay_iters == 0:
            return max_lr
        ratio = min(1.0, (iteration - decay_start + 1) / decay_iters)
        return max_lr + (self.min_lr - max_lr) * ratio
