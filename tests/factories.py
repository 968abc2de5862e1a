"""Hand-made Long Code Arena datapoints (exact schema) for tests; no dependency on ../shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATEGORIES = ("infile", "inproject", "common", "commited", "non_informative", "random")
RAW_CATEGORIES = ("commited", "common", "infile", "inproject", "non_informative", "other")

DEFAULT_COMPLETION = """import os
from pkg.util import helper


def main():
    value = helper(1)
    print(value)
    return os.path.join("a", "b")
"""

DEFAULT_SNAPSHOT = {
    "pkg/util.py": "def helper(x):\n    return x + 1\n",
    "pkg/__init__.py": "",
    "pkg/sub/deep.py": "DEEP = 1\n",
    "README.md": "# Demo\n",
    "setup.py": "from setuptools import setup\nsetup()\n",
}


def make_datapoint(
    *,
    repo: str = "owner__demo",
    commit_hash: str = "0" * 40,
    filename: str = "pkg/main.py",
    content: str = DEFAULT_COMPLETION,
    snapshot: dict[str, str] | None = None,
    lines: dict[str, list[int]] | None = None,
    raw_lines: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """A datapoint in the exact LCA schema (``commited`` spelling, parallel snapshot lists)."""
    snapshot = DEFAULT_SNAPSHOT if snapshot is None else snapshot
    lines = lines if lines is not None else {"inproject": [5], "infile": [], "common": [6], "commited": [],
                                             "non_informative": [0, 1], "random": [7]}
    completion_lines = {key: list(lines.get(key, [])) for key in CATEGORIES}
    if raw_lines is None:
        raw_lines = {key: list(lines.get(key, [])) for key in RAW_CATEGORIES if key != "other"}
        raw_lines["other"] = list(lines.get("random", []))
    completion_lines_raw = {key: list(raw_lines.get(key, [])) for key in RAW_CATEGORIES}
    return {
        "repo": repo,
        "commit_hash": commit_hash,
        "completion_file": {"filename": filename, "content": content},
        "completion_lines": completion_lines,
        "repo_snapshot": {"filename": list(snapshot), "content": list(snapshot.values())},
        "completion_lines_raw": completion_lines_raw,
    }


#: The [model] tables of a tiny random-init Llama with a tokenizer saved in ./tokenizer (tests' run files).
TINY_MODEL_TOML = """\
[model]
name_or_path = "llama"
random_init = true
tokenizer = "tokenizer"
device = "cpu"

[model.config]
hidden_size = 32
intermediate_size = 64
num_hidden_layers = 2
num_attention_heads = 4
num_key_value_heads = 2
"""


#: A whole run file for CLI tests: tiny model, 4 steps, a checkpoint every 2 steps (run directory ./run).
TINY_PROJECT_TOML = """
[run]
name = "tiny"
dir = "run"

""" + TINY_MODEL_TOML + """
[data]
path = "data.jsonl"

[split]
valid_size = 2
max_per_repo = 1

[preprocessor]
name = "lm"
max_seq_len = 64
context_tokens = 0.5

[trainer]
max_iters = 4
micro_batch_size = 2
gradient_accumulation_steps = 1
learning_rate = 1e-3
valid_freq = 100
cpu_threads = 1

[checkpointing]
freq = 2

[logger]
name = "local"
"""


def write_tiny_project(folder: Path, tokenizer, extra: str = "") -> Path:
    """run.toml (a tiny model, 4 steps, checkpoints every 2), data.jsonl (8 datapoints, 4 repos) and tokenizer/."""
    tokenizer.save_pretrained(folder / "tokenizer")
    with open(folder / "data.jsonl", "w") as handle:
        for i in range(8):
            handle.write(json.dumps(make_datapoint(repo=f"owner__repo{i % 4}", filename=f"pkg/mod{i}.py")) + "\n")
    (folder / "run.toml").write_text(TINY_PROJECT_TOML + extra)
    return folder
