"""What exact resume needs beyond weights and optimizer: iteration, data position, RNG states, scaler, metrics, logger."""

from __future__ import annotations

import random
from typing import Any

import attrs
import numpy as np


@attrs.define(kw_only=True)
class TrainerState:
    """The loop's position; saved in every checkpoint's ``state.pt`` (loaded with ``weights_only=True``)."""

    iteration: int = 0  # optimizer steps done
    sample_position: int = 0  # position in the FusedSampler stream (samples consumed)
    tokens_seen: int = 0  # input tokens (non-padding) trained on
    skipped_steps: int = 0  # steps whose loss was not finite, dropped under on_nonfinite = "skip"
    logger_state: dict[str, Any] = attrs.field(factory=dict)  # e.g. the W&B run id
    last_valid: dict[str, float] = attrs.field(factory=dict)  # the latest validation metrics

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainerState":
        names = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def capture_rng() -> dict[str, Any]:
    """Every RNG the loop may draw from, in types ``torch.load(weights_only=True)`` accepts."""
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _numpy_state() -> tuple:
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    # a tensor instead of an ndarray: weights_only loading refuses numpy objects
    return kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)
