"""Every built-in scheduler equals its formula at every iteration (the formulas written out here independently)."""

from __future__ import annotations

import math

import pytest

from lca_core.api.components import Runtime
from lca_core.api.errors import ConfigError
from lca_core.config.loader import config_from_dict
from lca_plugins.schedulers.schedules import Constant, CosineWarmup, Linear, WarmupStableDecay

MAX_LR, MIN_LR, WARMUP, DECAY, ITERS = 3e-4, 1e-6, 10, 80, 100


def built(cls, **params):
    scheduler = cls(**params)
    config = config_from_dict({"model": {"name_or_path": "m"}, "data": {"path": "d"},
                               "trainer": {"max_iters": ITERS}})
    scheduler.setup(Runtime(config=config))
    return scheduler


def seed_cosine(it):
    """The original's get_lr_from_cosine_scheduler_with_linear_warmup, as the original computed it."""
    if it < WARMUP:
        return MAX_LR * (it + 1) / WARMUP
    if it > DECAY:
        return MIN_LR
    ratio = (it - WARMUP) / (DECAY - WARMUP)
    return MIN_LR + 0.5 * (MAX_LR - MIN_LR) * (1 + math.cos(math.pi * ratio))


def linear(it):
    if it < WARMUP:
        return MAX_LR * (it + 1) / WARMUP
    if it > DECAY:
        return MIN_LR
    return MAX_LR - (MAX_LR - MIN_LR) * (it - WARMUP) / (DECAY - WARMUP)


def wsd(it, fraction=0.2):
    decay = round(fraction * ITERS)
    if it < WARMUP:
        return MAX_LR * (it + 1) / WARMUP
    if it < ITERS - decay:
        return MAX_LR
    return MAX_LR - (MAX_LR - MIN_LR) * min(1.0, (it - (ITERS - decay) + 1) / decay)


@pytest.mark.parametrize("cls,formula", [(CosineWarmup, seed_cosine), (Linear, linear)])
def test_warmup_decay_schedules_match_their_formula(cls, formula):
    scheduler = built(cls, warmup_iters=WARMUP, lr_decay_iters=DECAY, min_lr=MIN_LR)
    for it in range(ITERS + 20):
        assert scheduler.lr(it, MAX_LR) == pytest.approx(formula(it), rel=1e-12, abs=1e-15), it


def test_cosine_reaches_min_lr_at_decay_iters_and_stays():
    scheduler = built(CosineWarmup, warmup_iters=WARMUP, lr_decay_iters=DECAY, min_lr=MIN_LR)
    assert scheduler.lr(WARMUP, MAX_LR) == pytest.approx(MAX_LR)
    assert scheduler.lr(DECAY, MAX_LR) == pytest.approx(MIN_LR)
    assert {scheduler.lr(it, MAX_LR) for it in range(DECAY + 1, DECAY + 50)} == {MIN_LR}


def test_decay_iters_default_to_max_iters():
    scheduler = built(CosineWarmup, warmup_iters=WARMUP, min_lr=MIN_LR)
    assert scheduler.lr(ITERS, MAX_LR) == pytest.approx(MIN_LR)
    assert scheduler.lr(ITERS - 1, MAX_LR) > MIN_LR


def test_wsd_matches_its_formula():
    scheduler = built(WarmupStableDecay, warmup_iters=WARMUP, decay_fraction=0.2, min_lr=MIN_LR)
    for it in range(ITERS):
        assert scheduler.lr(it, MAX_LR) == pytest.approx(wsd(it), rel=1e-12), it
    assert scheduler.lr(ITERS - 1, MAX_LR) == pytest.approx(MIN_LR)


def test_constant_is_constant():
    scheduler = built(Constant)
    assert {scheduler.lr(it, MAX_LR) for it in range(ITERS)} == {MAX_LR}


def test_schedules_are_stateless_functions_of_the_iteration():
    scheduler = built(CosineWarmup, warmup_iters=WARMUP, lr_decay_iters=DECAY, min_lr=MIN_LR)
    forward = [scheduler.lr(it, MAX_LR) for it in range(ITERS)]
    backward = [scheduler.lr(it, MAX_LR) for it in reversed(range(ITERS))][::-1]
    assert forward == backward


@pytest.mark.parametrize("table,path", [
    ({"name": "cosine_warmup", "warmup_iters": 10, "lr_decay_iters": 5}, "scheduler.lr_decay_iters"),
    ({"name": "wsd", "decay_fraction": 1.5}, "scheduler.decay_fraction"),
    ({"name": "linear", "min_lr": -1.0}, "scheduler.min_lr"),
])
def test_bad_parameters_name_their_key(table, path):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"model": {"name_or_path": "m"}, "data": {"path": "d"}, "scheduler": table})
    assert path in str(info.value)
