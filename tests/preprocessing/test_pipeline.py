"""Both dataset paths: the lazy per-batch transform and precomposing once with a stable, reused cache."""

from __future__ import annotations

import logging

import pytest

from lca_core.api.components import Runtime
from lca_core.composing.pipeline import composer_fingerprint, make_transform, precompose
from lca_core.config.schema import ComponentConfig
from tests.factories import make_datapoint
from tests.preprocessing.helpers import make_preprocessor


@pytest.fixture
def dataset(tmp_path):
    import datasets

    rows = [make_datapoint(repo=f"owner__r{i}", filename=f"pkg/m{i}.py") for i in range(6)]
    path = tmp_path / "data.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))


def composer(**params):
    return ComponentConfig(kind="composer", name="path_distance", params=params).build(Runtime())


def test_lazy_transform_feeds_a_dataloader(dataset, tokenizer):
    import torch

    dataset.set_transform(make_transform(composer(), make_preprocessor("completion_loss", tokenizer, max_seq_len=96, context_tokens=16)))
    loader = torch.utils.data.DataLoader(dataset, batch_size=4)
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (4, 96)
    assert batch["loss_mask"].dtype == torch.bool and batch["category_ids"].dtype == torch.long
    assert (batch["category_ids"] == 3).any()  # the inproject line of every datapoint


def test_precompose_uses_a_stable_fingerprint_and_reuses_its_cache(dataset, tokenizer, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    cache = tmp_path / "precomposed"
    first = precompose(dataset, composer(), num_proc=2, cache_dir=cache)
    assert "random hash" not in caplog.text.lower()
    assert first._fingerprint == composer_fingerprint(dataset, composer())  # ours, not a random one
    assert set(first.column_names) == {"pre_context_prompt", "composed_context", "composed_completion", "completion_lines"}
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2  # one file per process
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}

    again = precompose(dataset, composer(), num_proc=2, cache_dir=cache)
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == mtimes  # read, not written again
    assert again[0] == first[0]
    assert first[0] == composer().compose(dataset[0])

    other = composer_fingerprint(dataset, composer(post_context_prompt="\n"))
    assert other != composer_fingerprint(dataset, composer())

    # the precomposed rows go through the same preprocessor without a composer
    pre = make_preprocessor("completion_loss", tokenizer, max_seq_len=96, context_tokens=16)
    first.set_transform(make_transform(None, pre))
    lazy = dataset.with_transform(make_transform(composer(), pre))
    assert first[:2]["input_ids"].equal(lazy[:2]["input_ids"])
