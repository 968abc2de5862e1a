"""SchedulerBase: a learning-rate schedule as a stateless function of the iteration.

Being stateless, a schedule needs nothing in a checkpoint: resuming at iteration k calls ``lr(k)``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from lca_core.api.components import Component, Runtime


@attrs.define(kw_only=True)
class SchedulerBase(Component):
    """Maps an optimizer iteration (0-based) to a learning rate, given the peak ``max_lr``."""

    kind: ClassVar[str] = "scheduler"
    _max_iters: int = attrs.field(default=0, init=False, eq=False, repr=False)

    def setup(self, runtime: Runtime) -> None:
        config = runtime.config
        self._max_iters = config.trainer.max_iters if config is not None else 0

    @property
    def max_iters(self) -> int:
        return self._max_iters

    def lr(self, iteration: int, max_lr: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError
