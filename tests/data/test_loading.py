"""Loading through `datasets`: local files, folders, save_to_disk, the hub (offline), the embedded set."""

from __future__ import annotations

import json

import time

import pytest

from lca_core.api.errors import ConfigError, RunError
from lca_core.data.loading import LCA_BENCHMARK, load_datapoints
from lca_core.data.schema import lca_features
from tests.data.helpers import make_config, write_jsonl
from tests.factories import make_datapoint


def _rows(n=4):
    return [make_datapoint(repo=f"owner__r{i % 2}", commit_hash=f"{i:040x}") for i in range(n)]


def test_jsonl_relative_to_run_file_gets_exact_lca_features(tmp_path):
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "points.jsonl", _rows())
    dataset = load_datapoints(make_config(tmp_path, path="data/points.jsonl"))
    assert dataset.features == lca_features()  # JSON infers int64: the loader casts sampled lines to int32
    assert dataset[1]["completion_lines"]["inproject"] == [5]
    assert dataset[0]["repo_snapshot"]["filename"][0] == "pkg/util.py"


def test_json_parquet_folder_and_save_to_disk(tmp_path):
    from datasets import Dataset

    rows = _rows()
    ds = Dataset.from_list(rows, features=lca_features())
    ds.to_json(tmp_path / "points.json", lines=False)
    ds.to_parquet(tmp_path / "points.parquet")
    (tmp_path / "shards").mkdir()
    ds.select([0, 1]).to_parquet(tmp_path / "shards" / "a.parquet")
    ds.select([2, 3]).to_parquet(tmp_path / "shards" / "b.parquet")
    ds.save_to_disk(tmp_path / "saved")
    for path in ("points.json", "points.parquet", "shards", "saved"):
        loaded = load_datapoints(make_config(tmp_path, path=path))
        assert loaded.features == lca_features(), path
        assert loaded["commit_hash"] == ds["commit_hash"], path


def test_limit_keeps_the_first_datapoints(tmp_path):
    write_jsonl(tmp_path / "points.jsonl", _rows(5))
    dataset = load_datapoints(make_config(tmp_path, path="points.jsonl", limit=2))
    assert dataset["commit_hash"] == [f"{0:040x}", f"{1:040x}"]


def test_missing_file_is_a_config_error_at_data_path(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_datapoints(make_config(tmp_path, path="nowhere/points.parquet"))
    assert info.value.problems[0].path == "data.path"
    assert "does not exist" in str(info.value) and str(tmp_path / "nowhere") in str(info.value)


def test_unsupported_suffix_and_empty_folder(tmp_path):
    (tmp_path / "points.csv").write_text("a,b\n")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a .jsonl, .json or .parquet"):
        load_datapoints(make_config(tmp_path, path="points.csv"))
    with pytest.raises(ConfigError, match="holds no .jsonl"):
        load_datapoints(make_config(tmp_path, path="empty"))


def test_unreadable_json_names_the_file_and_the_datapoint(tmp_path):
    good = json.dumps({"repo": "a"})
    (tmp_path / "broken.jsonl").write_text(f"{good}\n\n{good}\n" + '{"repo": "a"\n')
    with pytest.raises(RunError, match=r"data.path: cannot read .*broken.jsonl.* \(file broken.jsonl, line 4 = "
                                       r"datapoint 2: Expecting"):
        load_datapoints(make_config(tmp_path, path="broken.jsonl"))


def test_malformed_rows_in_a_file_follow_the_policy(tmp_path):
    rows = _rows(3)
    rows[2]["completion_lines"]["infile"] = [500]
    write_jsonl(tmp_path / "points.jsonl", rows)
    with pytest.raises(RunError, match=r"datapoint 2 \(repo 'owner__r0'\), completion_lines.infile\[0\]"):
        load_datapoints(make_config(tmp_path, path="points.jsonl"))
    with pytest.warns(UserWarning, match="skipped 1 of 3"):
        kept = load_datapoints(make_config(tmp_path, path="points.jsonl", on_invalid="skip"))
    assert len(kept) == 2 and kept.features == lca_features()


def test_hub_dataset_offline_fails_at_once_with_what_to_do(tmp_path):
    started = time.perf_counter()
    with pytest.raises(RunError) as info:
        load_datapoints(make_config(tmp_path, path=LCA_BENCHMARK, name="large_context"))
    assert time.perf_counter() - started < 10
    text = str(info.value)
    assert "large_context" in text and "split test" in text and "HF_HUB_OFFLINE" in text and "local copy" in text


def test_hub_benchmark_needs_a_known_configuration(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_datapoints(make_config(tmp_path, path=LCA_BENCHMARK, name="large_contxt"))
    assert info.value.problems[0].path == "data.name" and "did you mean 'large_context'" in str(info.value)


@pytest.mark.slow
def test_embedded_dataset_is_built_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LCA_CACHE", str(tmp_path / "cache"))
    dataset = load_datapoints(make_config(tmp_path, path="embedded"))
    assert dataset.features == lca_features()
    assert 40 <= len(dataset) <= 80 and len(set(dataset["repo"])) >= 3
    files = list((tmp_path / "cache" / "embedded").glob("*.parquet"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = load_datapoints(make_config(tmp_path, path="embedded"))
    assert files[0].stat().st_mtime_ns == stamp and again["commit_hash"] == dataset["commit_hash"]
    assert sum(len(raw["inproject"]) for raw in dataset["completion_lines_raw"]) > 0
