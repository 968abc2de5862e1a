"""FusedSampler: seeded per-epoch permutations, one endless stream, resumable at any position."""

from __future__ import annotations

from lca_core.training.sampler import FusedSampler


def test_each_epoch_is_a_permutation_and_epochs_differ():
    sampler = FusedSampler(10, seed=3)
    stream = sampler.indices(0, 30)
    epochs = [stream[i:i + 10] for i in (0, 10, 20)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 3
    assert FusedSampler(10, seed=4).indices(0, 10) != epochs[0]


def test_resume_at_any_position_continues_the_same_stream():
    stream = FusedSampler(7, seed=1).indices(0, 40)
    for position in (0, 3, 7, 13, 33):
        # a fresh sampler (a resumed process) jumps straight to the position
        assert FusedSampler(7, seed=1).indices(position, 40 - position) == stream[position:]


def test_no_shuffle_is_dataset_order_every_epoch():
    sampler = FusedSampler(4, shuffle=False)
    assert sampler.indices(2, 7) == [2, 3, 0, 1, 2, 3, 0]
    assert sampler.epoch(6) == 1.5


def test_ranks_can_share_one_global_order():
    # what a distributed version will do: each rank takes its slice of each step's global samples
    sampler, world, per_rank = FusedSampler(12, seed=5), 3, 2
    step = sampler.indices(0, world * per_rank)
    slices = [sampler.indices(rank * per_rank, per_rank) for rank in range(world)]
    assert sum(slices, []) == step
