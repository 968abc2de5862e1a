"""Evaluation progress on disk: one JSON-lines file per (model, composer), a line per finished datapoint.

An interrupted ``lca-run eval`` (a signal, a kill, a crash) loses at most the datapoint it was on:
run the same command again and every (model, composer) resumes after its last finished datapoint;
a finished one is not evaluated again. A progress file belongs to one exact evaluation — the model
(label and weights folder), the composer and its parameters, the settings and the data — and its
first line records that identity: a changed setting starts that pair afresh instead of mixing
numbers from two protocols. A line torn by a kill is ignored. The folder is removed once the whole
evaluation has finished and its reports are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import attrs

from lca_core.evaluation.metrics import LineScore
from lca_core.evaluation.runner import FileResult, Prediction

FOLDER = "progress"


def _name(identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{identity['model']}-{identity['composer']}").strip("-")
    return f"{readable[:60]}-{digest}.jsonl"


@attrs.define
class Progress:
    """The finished datapoints of one (model, composer) and the file new ones are appended to."""

    path: Path
    identity: dict[str, Any]
    done: dict[int, FileResult] = attrs.field(factory=dict)

    @classmethod
    def open(cls, out_dir: Path, identity: dict[str, Any]) -> Progress:
        path = out_dir / FOLDER / _name(identity)
        progress = cls(path, identity)
        if path.exists():
            progress._read()
        return progress

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except ValueError:
            header = None
        if header != {"identity": json.loads(json.dumps(self.identity, default=str))}:
            self.path.unlink()  # torn before its first datapoint, or another evaluation's: start afresh
            return
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except ValueError:  # the last line, torn by a kill
                continue
            result = FileResult(row["file"], row["context_tokens"], [LineScore(**s) for s in row["scores"]],
                                [Prediction(**p) for p in row["predictions"]], row.get("seconds", 0.0),
                                row.get("decoding") or {})
            self.done[result.file] = result

    def add(self, result: FileResult) -> None:
        """Record a finished datapoint durably (one write, flushed and synced) before the next one starts."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = ""
        if not self.path.exists():
            text = json.dumps({"identity": self.identity}, default=str) + "\n"
        text += json.dumps(attrs.asdict(result)) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        self.done[result.file] = result


def remove(out_dir: Path) -> None:
    """Forget all progress once the evaluation is complete."""
    import shutil

    shutil.rmtree(out_dir / FOLDER, ignore_errors=True)
