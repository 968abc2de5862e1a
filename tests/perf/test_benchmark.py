"""The throughput benchmark runs end to end on the CPU with a tiny shape (the GPU numbers are in RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_benchmark_runs_trainer_and_baseline(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--tiny", "--check", "--out", str(tmp_path),
         "--variant", "hf", "--variant", "project:loss=chunked"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    check = [r["check"] for r in rows if "check" in r]
    assert check and check[0]["impl"] == "chunked" and check[0]["grad_weight_rel"] < 1e-5
    runs = {r["variant"]: r for r in rows if "variant" in r}
    assert set(runs) == {"hf", "project"} and all(r["tokens_per_second"] > 0 for r in runs.values())
    # same random weights (seed 0) and the same first batch: both start from the same loss
    assert abs(runs["hf"]["final_ce"] - runs["project"]["final_ce"]) < 0.05
    assert "vs hf" in result.stdout and "1.00x" in result.stdout


@pytest.mark.slow
def test_eval_agreement_three_decoding_paths_agree_in_float32(tmp_path):
    """benchmarks/eval_agreement.py on the quickstart run file (random Llama, CPU, float32): the fused and
    unfused prefix-reuse paths give the reference's text for every line."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "eval_agreement.py"), str(ROOT / "examples" / "quickstart.toml"),
         "--limit", "2", "--max-new-tokens", "6", "--json", str(tmp_path / "agreement.json")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads((tmp_path / "agreement.json").read_text())
    assert found["lines"] > 3 and len(found["ways"]) == 3
    assert all(way["same_as_reference"] == f"{found['lines']}/{found['lines']}" for way in found["ways"].values())
