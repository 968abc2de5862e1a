"""How a step's global micro-batches are shared among ranks, and how the strategy is chosen."""

from __future__ import annotations

import pytest

from lca_core.api.errors import ConfigError
from lca_core.training.distributed import choose_strategy, per_rank_accumulation
from lca_core.training.sampler import FusedSampler, rank_positions


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_every_world_size_reads_the_same_samples_per_step(world_size):
    sampler = FusedSampler(10, seed=3)
    size, accum, start = 2, 4, 14  # a step that crosses an epoch boundary
    one = [i for p in rank_positions(start, size, accum) for i in sampler.indices(p, size)]
    shares = [[i for p in rank_positions(start, size, accum, rank, world_size) for i in sampler.indices(p, size)]
              for rank in range(world_size)]
    assert [i for share in shares for i in share] == one
    assert all(len(share) == len(one) // world_size for share in shares)


def test_accumulation_must_split_evenly_and_the_error_names_the_key():
    assert per_rank_accumulation(64, 8) == 8
    with pytest.raises(ConfigError) as info:
        per_rank_accumulation(6, 4)
    problem = info.value.problems[0]
    assert problem.path == "trainer.gradient_accumulation_steps" and "multiple of 4" in problem.message


def test_auto_strategy_is_ddp_until_the_training_state_outgrows_half_a_gpu():
    gib = 2**30
    small, why = choose_strategy("auto", num_params=1_350_000_000, param_dtype="bfloat16", device="cuda:0",
                                 gpu_memory=80 * gib)
    assert small == "ddp" and "10.1 GiB" in why
    large, why = choose_strategy("auto", num_params=7_000_000_000, param_dtype="bfloat16", device="cuda:0",
                                 gpu_memory=80 * gib)
    assert large == "fsdp" and "exceed" in why
    assert choose_strategy("fsdp", num_params=1, param_dtype="float32", device="cpu") == ("fsdp", "set in the run file")
    assert choose_strategy("auto", num_params=1, param_dtype="float32", device="cpu")[0] == "ddp"
