"""The local logger: metric CSVs, JSON Lines messages, resume without duplicates, Python hooks."""

from __future__ import annotations

import csv
import json
import logging
import sys
import warnings
from pathlib import Path

import pytest

from lca_core.api.components import Runtime, build_params
from lca_plugins.loggers.dummy import DummyLogger
from lca_plugins.loggers.files import read_messages, read_metrics
from lca_plugins.loggers.local import LocalLogger


def started(run_dir: Path, resumed_from=None, **params) -> LocalLogger:
    logger = LocalLogger(**params)
    logger.setup(Runtime(run_dir=run_dir))
    logger.start(resumed_from=resumed_from, state={})
    return logger


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def json_lines(path: Path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_metrics_and_messages_land_in_the_seed_layout(tmp_path):
    logger = started(tmp_path)
    logger.log("valid", 0, {"cross_entropy": 2.5})
    logger.log("train", 0, {"cross_entropy": 2.4000000000000004, "learning_rate": 3.5e-06})
    logger.log("train", 1, {"cross_entropy": 2.25, "learning_rate": 7e-06})
    logger.message("INFO", "validation done")
    logger.message("warning", {"what": "short context", "datapoint": 17})
    logger.finish("completed")

    logs = tmp_path / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["stderr.json", "stdout.json", "train.csv", "valid.csv"]
    train = csv_rows(logs / "train.csv")
    assert [r["iter_num"] for r in train] == ["0", "1"]
    assert float(train[0]["cross_entropy"]) == 2.4000000000000004  # full precision, not rounded
    assert csv_rows(logs / "valid.csv") == [{"iter_num": "0", "cross_entropy": "2.5"}]
    stdout = json_lines(logs / "stdout.json")
    assert [m["content"] for m in stdout] == ["validation done", "run completed"]
    assert {"timestamp", "level", "content"} <= set(stdout[0])
    assert [(m["level"], m["content"]) for m in json_lines(logs / "stderr.json")] == [
        ("WARNING", {"what": "short context", "datapoint": 17})
    ]


def test_a_metric_that_appears_mid_run_widens_the_header(tmp_path):
    logger = started(tmp_path)
    logger.log("train", 0, {"cross_entropy": 3.0})
    logger.log("train", 1, {"cross_entropy": 2.0, "grad_norm": 0.5})
    logger.log("train", 2, {"grad_norm": 0.25, "cross_entropy": 1.0})
    logger.finish("completed")

    assert (tmp_path / "logs" / "train.csv").read_text() == (
        "iter_num,cross_entropy,grad_norm\n0,3.0,\n1,2.0,0.5\n2,1.0,0.25\n"
    )
    assert not list((tmp_path / "logs").glob(".*tmp*"))


def test_an_iteration_is_never_logged_twice(tmp_path):
    logger = started(tmp_path)
    logger.log("train", 3, {"cross_entropy": 1.0})
    logger.log("train", 3, {"cross_entropy": 9.0})
    logger.log("train", 2, {"cross_entropy": 9.0})
    logger.finish("completed")

    _, rows = read_metrics(tmp_path / "logs" / "train.csv")
    assert rows == [{"iter_num": 3, "cross_entropy": 1.0}]
    warnings_logged = [m["content"] for m in read_messages(tmp_path / "logs" / "stderr.json")]
    assert len(warnings_logged) == 2 and "already in train.csv" in warnings_logged[0]


def test_resume_keeps_rows_up_to_the_checkpoint_and_drops_the_rest(tmp_path):
    killed = started(tmp_path)
    for it in range(10):
        killed.log("train", it, {"cross_entropy": 10.0 - it})
        if it % 4 == 0:
            killed.log("valid", it, {"cross_entropy": 20.0 - it})
    # no finish(): the process "died" after iteration 9; the last checkpoint is iteration 5
    resumed = started(tmp_path, resumed_from=5)
    for it in range(6, 9):
        resumed.log("train", it, {"cross_entropy": 10.0 - it})
    resumed.log("valid", 8, {"cross_entropy": 12.0})
    resumed.finish("completed")

    _, train = read_metrics(tmp_path / "logs" / "train.csv")
    assert [(r["iter_num"], r["cross_entropy"]) for r in train] == [(it, 10.0 - it) for it in range(9)]
    _, valid = read_metrics(tmp_path / "logs" / "valid.csv")
    assert [r["iter_num"] for r in valid] == [0, 4, 8]
    notes = [m["content"] for m in read_messages(tmp_path / "logs" / "stdout.json")]
    assert any("resumed after iteration 5: removed 4 rows of train.csv" in n for n in notes)


def test_a_fresh_start_begins_the_metric_files_anew(tmp_path):
    first = started(tmp_path)
    first.log("train", 0, {"cross_entropy": 5.0})
    first.finish("completed")
    second = started(tmp_path, resumed_from=None)
    second.log("train", 0, {"cross_entropy": 4.0})
    second.finish("completed")
    assert read_metrics(tmp_path / "logs" / "train.csv")[1] == [{"iter_num": 0, "cross_entropy": 4.0}]


def test_train_and_valid_files_must_differ_and_be_named():
    _, problems = build_params(LocalLogger, {"train_csv": "metrics.csv", "valid_csv": "./metrics.csv"}, "logger")
    assert [(p.path, p.message) for p in problems] == [
        ("logger.valid_csv", "must differ from train_csv (both are 'metrics.csv')")
    ]
    _, problems = build_params(LocalLogger, {"stdout_file": " "}, "logger")
    assert [p.path for p in problems] == ["logger.stdout_file"]


def test_stdout_and_stderr_may_be_one_file(tmp_path):
    logger = started(tmp_path, stdout_file="messages.json", stderr_file="messages.json")
    logger.message("INFO", "one")
    logger.message("ERROR", "two")
    logger.finish("failed")
    assert [(m["level"], m["content"]) for m in json_lines(tmp_path / "logs" / "messages.json")] == [
        ("INFO", "one"), ("ERROR", "two"), ("INFO", "run failed")
    ]


def test_python_warnings_exceptions_and_library_logs_go_to_stderr_until_finish(tmp_path, capsys):
    original_showwarning, original_excepthook = warnings.showwarning, sys.excepthook
    logger = started(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("padding to the longest sample", UserWarning)
    logging.getLogger("transformers.modeling_utils").warning("some weights were not initialized")
    try:
        raise RuntimeError("CUDA out of memory")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())  # what the interpreter calls for an uncaught exception
    logger.finish("failed")

    assert warnings.showwarning is original_showwarning and sys.excepthook is original_excepthook
    records = read_messages(tmp_path / "logs" / "stderr.json")
    warning, library, error, ending = records
    assert warning["content"]["category"] == "UserWarning"
    assert warning["content"]["message"] == "padding to the longest sample"
    assert warning["content"]["location"].startswith(__file__)
    assert library["content"] == {"logger": "transformers.modeling_utils", "message": "some weights were not initialized"}
    assert error["level"] == "ERROR" and error["content"]["category"] == "RuntimeError"
    assert error["content"]["message"] == "CUDA out of memory"
    assert error["content"]["traceback"][-1]["line"] == 'raise RuntimeError("CUDA out of memory")'
    assert "uncaught exception" in ending["content"]
    assert "CUDA out of memory" in capsys.readouterr().err  # the terminal still shows it
    logging.getLogger("transformers").warning("after finish")
    assert len(read_messages(tmp_path / "logs" / "stderr.json")) == 4


def test_a_torn_last_message_line_is_cut_when_the_file_is_reopened(tmp_path):
    path = tmp_path / "logs" / "stdout.json"
    path.parent.mkdir()
    path.write_text('{"timestamp": "t", "level": "INFO", "content": "whole"}\n{"timestamp": "t", "lev')
    assert [m["content"] for m in read_messages(path)] == ["whole"]
    logger = started(tmp_path, resumed_from=0)
    logger.message("INFO", "after the crash")
    logger.finish("completed")
    assert [m["content"] for m in json_lines(path)] == ["whole", "after the crash", "run completed"]


def test_secrets_from_the_environment_never_reach_the_files(tmp_path, monkeypatch):
    secret = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    logger = started(tmp_path)
    logger.message("ERROR", {"request": f"https://api.example/?key={secret}", secret: "as a key"})
    logger.finish("failed")
    text = (tmp_path / "logs" / "stderr.json").read_text()
    assert secret not in text and "key=***" in text


def test_only_rank_zero_writes(tmp_path):
    logger = LocalLogger()
    logger.setup(Runtime(run_dir=tmp_path, rank=1, world_size=2))
    logger.start(resumed_from=None, state={})
    logger.log("train", 0, {"cross_entropy": 1.0})
    logger.message("ERROR", "from rank 1")
    logger.finish("completed")
    assert list(tmp_path.iterdir()) == []


def test_the_dummy_logger_writes_nothing(tmp_path):
    logger = DummyLogger()
    logger.setup(Runtime(run_dir=tmp_path))
    logger.start(resumed_from=None, state={})
    logger.log("train", 0, {"cross_entropy": 1.0})
    logger.message("INFO", "hello")
    assert logger.state() == {}
    logger.finish("completed")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_split_or_level_is_a_programming_error(tmp_path):
    logger = started(tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'valid'"):
        logger.log("test", 0, {"cross_entropy": 1.0})
    with pytest.raises(ValueError, match="message level must be one of"):
        logger.message("VERBOSE", "x")
    logger.finish("completed")


def test_a_failed_run_records_the_exception_the_trainer_is_propagating(tmp_path):
    logger = started(tmp_path)
    with pytest.raises(FloatingPointError):
        try:  # the trainer's shape: finish("failed") in a `finally` while the error propagates
            raise FloatingPointError("loss is nan at iteration 12")
        finally:
            logger.finish("failed")
    error, = [m for m in read_messages(tmp_path / "logs" / "stderr.json") if m["level"] == "ERROR"]
    assert error["content"]["category"] == "FloatingPointError"
    assert error["content"]["message"] == "loss is nan at iteration 12"
    assert read_messages(tmp_path / "logs" / "stdout.json")[-1]["content"] == "run failed"
