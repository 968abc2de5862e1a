"""``lca-run eval`` end to end in a subprocess: two composers × base and best checkpoint, then teacher forcing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import TINY_MODEL_TOML, make_datapoint

RUN_FILE = """
[run]
name = "tiny"
dir = "run"
seed = 3

""" + TINY_MODEL_TOML + """
[data]
path = "data.jsonl"

[checkpointing]
main_metric = "cross_entropy"
"""

LINES = {"inproject": [5], "infile": [6, 7], "common": [], "commited": [], "non_informative": [0, 1], "random": []}


def lca_run(*args, cwd, traceback=True):
    env = {**os.environ, "LCA_TRACEBACK": "1" if traceback else "0"}
    script = Path(sys.executable).with_name("lca-run")
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def make_run(tmp_path, tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lca_core.training.checkpoint import write_manifest

    tokenizer.save_pretrained(tmp_path / "tokenizer")
    with open(tmp_path / "data.jsonl", "w") as handle:
        for i in range(3):
            handle.write(json.dumps(make_datapoint(repo=f"owner__repo{i}", lines=LINES)) + "\n")
    (tmp_path / "tiny.toml").write_text(RUN_FILE)
    # two checkpoints as the trainer writes them; 0002 has the lower validation cross-entropy
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    for name, ce in (("0001", 2.5), ("0002", 1.5)):
        folder = tmp_path / "run" / "checkpoints" / name
        LlamaForCausalLM(config).save_pretrained(folder / "model")
        (folder / "metrics.json").write_text(json.dumps({"iteration_number": int(name),
                                                         "valid_metrics": {"cross_entropy": ce}}))
        for state in ("optim.pt", "state.pt"):  # and sealed by a manifest, as complete checkpoints are
            torch.save({}, folder / state)
        write_manifest(folder)


@pytest.mark.slow
def test_eval_compares_composers_and_checkpoints_side_by_side(tmp_path, tokenizer):
    make_run(tmp_path, tokenizer)
    result = lca_run("eval", "tiny.toml", "--checkpoint", "base", "--checkpoint", "best",
                     "--composer", "file_level", "--composer", "path_distance", "--limit", "2",
                     "--max-seq-len", "160", "--max-new-tokens", "6", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "micro = mean over lines" in result.stdout and "macro = mean over the lines of each file" in result.stdout
    assert "ctx = mean context tokens the model saw" in result.stdout
    # 160 tokens cannot hold the file, the new tokens and 512 context tokens: said before it starts, with the fix
    assert "warning: --max-seq-len 160 leaves about" in result.stderr and "for path_distance" in result.stderr
    assert result.stderr.index("warning: --max-seq-len") < result.stderr.index("base · file_level")
    assert "line/s" not in result.stderr and "base · file_level: done in" in result.stderr  # no bar off a terminal
    assert re.search(r"base · file_level: done in \d+ s, \d+ decode steps of [\d.]+ ms", result.stderr)

    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert [(r["model"], r["composer"]) for r in report["results"]] == [
        ("base", "file_level"), ("base", "path_distance"),
        ("best (0002)", "file_level"), ("best (0002)", "path_distance"),
    ]
    assert report["settings"]["max_seq_len"] == 160 and report["datapoints"] == 2
    assert report["config"]["model"]["name_or_path"] == "llama" and report["complete"] is True
    contexts = {(r["model"], r["composer"]): r["context_tokens"] for r in report["results"]}
    assert contexts[("base", "file_level")]["mean"] < contexts[("base", "path_distance")]["mean"]
    assert contexts[("base", "path_distance")]["files"] == 2
    # each composer against its model's first one, file by file (generation: edit similarity)
    compared = {(c["model"], c["composer"], c["category"]): c for c in report["comparisons"]}
    assert set(compared) == {(m, "path_distance", c) for m in ("base", "best (0002)") for c in ("infile", "inproject")}
    first = compared[("base", "path_distance", "infile")]
    assert first["reference"] == "file_level" and first["metric"] == "edit_similarity" and first["files"] == 2
    assert "path_distance vs file_level  infile: ES" in result.stdout
    for entry in report["results"]:
        # the path comment shifts every line by one: the composer's completion_lines are used as given
        assert (entry["categories"]["inproject"]["lines"], entry["categories"]["infile"]["lines"]) == (2, 4)
        assert set(entry["categories"]["infile"]) >= {"exact_match", "exact_match_strip", "edit_similarity"}
    predictions = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 4 * 6
    first = json.loads(predictions[0])
    assert first["target"] == "    value = helper(1)" and first["category"] == "inproject"
    assert (tmp_path / "out" / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    forced = lca_run("eval", "tiny.toml", "--mode", "teacher-forced", "--checkpoint", "last",
                     "--composer", "path_distance", "--max-seq-len", "160", "--out", "forced", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    entry = json.loads((tmp_path / "forced" / "eval.json").read_text())["results"][0]
    assert entry["model"] == "last (0002)"
    assert entry["categories"]["infile"]["lines"] == 6  # 3 files × 2 lines
    assert "edit_similarity" not in entry["categories"]["infile"]
    for metric in ("cross_entropy", "top1_accuracy", "top5_accuracy"):
        assert set(entry["categories"]["infile"][metric]) == {"micro", "macro"}
    infile = entry["categories"]["infile"]
    assert infile["cross_entropy"]["micro"] > 0 and 0 <= infile["top1_accuracy"]["micro"] <= infile["top5_accuracy"]["micro"] <= 100
    assert "CE micro" in forced.stdout and "top5 macro" in forced.stdout and "CE in nats per token" in forced.stdout
    assert not (tmp_path / "forced" / "progress").exists()  # finished: no progress left behind
    # teacher forcing generates no text: no predictions file, and the output does not list one
    assert not (tmp_path / "forced" / "predictions.jsonl").exists() and "predictions.jsonl" not in forced.stdout

    # another command into the same folder says whose results it replaces; teacher forcing generates
    # nothing, so a window shorter than --max-new-tokens (100) is fine there, and refused in generation
    again = lca_run("eval", "tiny.toml", "--mode", "teacher-forced", "--checkpoint", "last", "--limit", "1",
                    "--composer", "path_distance", "--max-seq-len", "96", "--out", "forced", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    short = lca_run("eval", "tiny.toml", "--checkpoint", "last", "--max-seq-len", "96", "--out", "short", cwd=tmp_path,
                    traceback=False)
    assert short.returncode == 2 and "--max-seq-len: 96 leaves no room for the prompt with --max-new-tokens 100" \
        in short.stderr
    assert "lca-run eval: replacing the results of `lca-run eval tiny.toml --mode teacher-forced" in again.stderr
    assert "give --out DIR to keep both" in again.stderr


def test_an_unknown_composer_is_a_configuration_error_with_a_suggestion(tmp_path):
    (tmp_path / "tiny.toml").write_text(RUN_FILE)  # nothing is loaded before the names are checked
    (tmp_path / "data.jsonl").write_text("")  # data.path must exist to pass the run file's checks
    result = lca_run("eval", "tiny.toml", "--composer", "path_distanse", cwd=tmp_path, traceback=False)
    assert result.returncode == 2
    assert "--composer" in result.stderr and "did you mean 'path_distance'" in result.stderr
    assert "Traceback" not in result.stderr
