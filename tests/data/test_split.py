"""The repository-disjoint split: the original's semantics, checked as properties and on examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lca_core.api.errors import ConfigError
from lca_core.data.prepare import prepare_datasets
from lca_core.data.split import split_indices, train_test_split
from tests.data.helpers import make_config, write_jsonl
from tests.factories import make_datapoint

repos_strategy = st.lists(st.sampled_from([f"owner__r{i}" for i in range(12)]), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(repos=repos_strategy, valid_size=st.integers(0, 30), max_per_repo=st.integers(1, 6), seed=st.integers(0, 2**32))
def test_split_properties(repos, valid_size, max_per_repo, seed):
    try:
        train, valid = split_indices(repos, valid_size, max_per_repo, seed)
    except ValueError:
        # only when the repositories cannot supply valid_size points at max_per_repo each
        per_repo = {r: min(repos.count(r), max_per_repo) for r in set(repos)}
        assert sum(per_repo.values()) < valid_size
        return
    assert len(valid) == valid_size  # exact size
    assert not {repos[i] for i in train} & {repos[i] for i in valid}  # repository-disjoint
    assert all(sum(repos[j] == repos[i] for j in valid) <= max_per_repo for i in valid)
    assert len(set(valid)) == len(valid) and not set(train) & set(valid)
    assert train == sorted(train)
    assert (train, valid) == split_indices(repos, valid_size, max_per_repo, seed)  # deterministic
    if valid_size == 0:
        assert train == list(range(len(repos)))


def test_validation_repositories_lose_their_unused_points():
    repos = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    train, valid = split_indices(repos, valid_size=3, max_per_repo=2, seed=0)
    held = {repos[i] for i in valid}
    assert len(held) == 2  # 2 from the first repository popped, 1 from the second
    assert len(train) == 4 and {repos[i] for i in train}.isdisjoint(held)


def test_seed_changes_the_draw():
    repos = [f"r{i}" for i in range(20)]
    draws = {tuple(split_indices(repos, 5, 1, seed)[1]) for seed in range(5)}
    assert len(draws) > 1


def _dataset():
    from datasets import Dataset

    from lca_core.data.schema import lca_features

    return Dataset.from_list([make_datapoint(repo=f"o__r{i % 4}", commit_hash=f"{i:040x}") for i in range(12)],
                             features=lca_features())


def test_train_test_split_on_a_dataset():
    dataset = _dataset()
    train, valid = train_test_split(dataset, valid_size=4, max_per_repo=2, seed=7)
    assert len(valid) == 4 and len(train) == 6
    assert set(train["repo"]).isdisjoint(valid["repo"])
    assert train_test_split(dataset, 0, 2, 7) == (dataset, None)


@pytest.mark.parametrize("by", ["commit", "file"])
def test_one_repository_splits_by_commit_or_file(by):
    from datasets import Dataset

    from lca_core.data.schema import lca_features

    rows = [make_datapoint(repo="o__only", commit_hash=f"{i // 2:040x}", filename=f"pkg/m{i % 3}.py") for i in range(12)]
    dataset = Dataset.from_list(rows, features=lca_features())
    train, valid = train_test_split(dataset, valid_size=3, max_per_repo=1, seed=7, by=by)
    assert len(valid) == 3
    key = (lambda d: d["commit_hash"]) if by == "commit" else (lambda d: d["completion_file"]["filename"])
    held = {key(d) for d in valid}
    assert len(held) == 3 and not held & {key(d) for d in train}  # every held-out group is wholly out of training
    assert len(train) == 12 - (6 if by == "commit" else 12)  # a held-out group's other datapoints are discarded


def test_prepare_datasets_with_split_and_with_valid_path(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [make_datapoint(repo=f"o__r{i % 3}") for i in range(9)])
    write_jsonl(tmp_path / "valid.jsonl", [make_datapoint(repo="o__held")])
    train, valid = prepare_datasets(make_config(tmp_path, path="train.jsonl", split={"valid_size": 2, "max_per_repo": 1}))
    assert len(valid) == 2 and len(train) == 3
    train, valid = prepare_datasets(make_config(tmp_path, path="train.jsonl", valid_path="valid.jsonl"))
    assert len(train) == 9 and valid["repo"] == ["o__held"]
    train, valid = prepare_datasets(make_config(tmp_path, path="train.jsonl", split={"valid_size": 0}))
    assert valid is None and len(train) == 9


def test_prepare_datasets_too_few_repositories_is_a_config_error(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [make_datapoint(repo=f"o__r{i % 3}") for i in range(9)])
    with pytest.raises(ConfigError) as info:
        prepare_datasets(make_config(tmp_path, path="train.jsonl", split={"valid_size": 5, "max_per_repo": 1}))
    assert info.value.problems[0].path == "split.valid_size" and "3 repositories give only 3" in str(info.value)
