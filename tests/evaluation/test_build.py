"""Evaluation assembly: the context-room warning and the progress store an interrupted evaluation resumes from."""

from __future__ import annotations

import json

from lca_core.evaluation import store
from lca_core.evaluation.build import room_warning, summarize
from lca_core.evaluation.metrics import LineScore
from lca_core.evaluation.runner import FileResult, Prediction, Settings


def test_too_little_room_for_context_warns_and_names_the_fix():
    settings = Settings(max_seq_len=256, max_new_tokens=100)
    message = room_warning([0, -40, 100], settings, ["file_level", "path_distance"])
    assert message.startswith("--max-seq-len 256 leaves about 0 context tokens for path_distance")
    assert "3 of them below 512" in message
    suggested = int(message.split("use --max-seq-len ")[1].split()[0])
    assert suggested % 256 == 0 and suggested - (256 - 0) >= 512  # the median file would keep 512 tokens
    assert room_warning([0, 0], settings, ["file_level"]) is None  # file-level sees no context anyway
    # enough room: at least 512 tokens and a quarter of the window
    assert room_warning([600, 700], Settings(max_seq_len=2048), ["lines_iou"]) is None
    assert room_warning([600, 700], Settings(max_seq_len=4096), ["lines_iou"]) is not None  # < 1024


def result(file, context, em):
    return FileResult(file, context, [LineScore(file=file, line=1, category="inproject", exact_match=em)],
                      [Prediction(file, 1, "inproject", "x = 1", "x = 2")], seconds=1.5)


def test_progress_survives_a_torn_line_and_belongs_to_one_identity(tmp_path):
    identity = {"model": "base", "composer": "path_distance", "settings": {"max_seq_len": 512}}
    progress = store.Progress.open(tmp_path, identity)
    progress.add(result(0, 100, 100.0))
    progress.add(FileResult(1, None, [], []))
    with open(progress.path, "a") as handle:
        handle.write('{"file": 2, "context_tok')  # a kill in the middle of a write
    again = store.Progress.open(tmp_path, identity)
    assert sorted(again.done) == [0, 1] and again.done[0] == result(0, 100, 100.0)
    assert summarize(list(again.done.values()))["context_tokens"] == {"mean": 100.0, "min": 100, "max": 100,
                                                                       "files": 1}
    other = store.Progress.open(tmp_path, {**identity, "settings": {"max_seq_len": 1024}})
    assert other.done == {} and other.path != progress.path
    assert json.loads(progress.path.read_text().splitlines()[0]) == {"identity": identity}
    store.remove(tmp_path)
    assert not (tmp_path / store.FOLDER).exists()
