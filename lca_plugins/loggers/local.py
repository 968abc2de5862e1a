"""The ``local`` logger: metric CSVs and JSON Lines message logs in the run directory's ``logs/``.

Layout (the original's): ``logs/train.csv`` and ``logs/valid.csv`` keyed by ``iter_num``;
``logs/stdout.json`` (messages below WARNING) and ``logs/stderr.json`` (WARNING and above, Python
warnings, uncaught exceptions, and the ``transformers``/``datasets`` library loggers). The formats,
and why they survive a SIGKILL, are described in `lca_plugins.loggers.files`.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import attrs

from lca_core.api.components import Runtime, param
from lca_core.api.errors import ParamError, RunError
from lca_core.api.loggers import LoggerBase, MetricRows, Split
from lca_core.redact import redact, secret_values
from lca_plugins.loggers.files import LogWriteError, MessageLog, MetricTable, read_metrics

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_STDERR_LEVELS = {"WARNING", "ERROR", "CRITICAL"}
_LIBRARY_LOGGERS = ("transformers", "datasets")


def _file_name(instance, attribute, value):
    if not value.strip():
        raise ParamError(attribute.name, "must be a file name, got an empty string")


@attrs.define(kw_only=True)
class LocalLogger(LoggerBase):
    """Writes metrics to CSV files and messages to JSON Lines files under the run directory."""

    directory: str = param("logs", doc="Folder of the log files, relative to the run directory.")
    train_csv: str = param("train.csv", doc="Training metrics, one row per iteration (must differ from valid_csv).",
                           validator=_file_name)
    valid_csv: str = param("valid.csv", doc="Validation metrics, one row per validation.", validator=_file_name)
    stdout_file: str = param("stdout.json", doc="Messages below WARNING, as JSON Lines.", validator=_file_name)
    stderr_file: str = param(
        "stderr.json",
        doc="Messages at WARNING and above, Python warnings and uncaught exceptions, as JSON Lines "
        "(may be the same file as stdout_file).",
        validator=_file_name,
    )
    capture_python: bool = param(
        True,
        doc="While the run lasts, also record Python warnings, uncaught exceptions and the "
        "transformers/datasets library logs in stderr_file (they still reach the terminal).",
    )

    _run_dir: Path | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _active: bool = attrs.field(default=True, init=False, eq=False, repr=False)
    _tables: dict[str, MetricTable] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    _stdout: MessageLog | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _stderr: MessageLog | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _secrets: list[str] = attrs.field(factory=list, init=False, eq=False, repr=False)
    _saved_hooks: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    _handler: logging.Handler | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _pending: list[str] = attrs.field(factory=list, init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        if os.path.normpath(self.train_csv) == os.path.normpath(self.valid_csv):
            raise ParamError("valid_csv", f"must differ from train_csv (both are '{self.train_csv}')")

    # --- where the files are ---------------------------------------------------------------------

    def log_dir(self, run_dir: str | os.PathLike[str]) -> Path:
        return Path(run_dir) / self.directory

    def csv_paths(self, run_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """``{"train": ..., "valid": ...}``: where this logger writes each split's metrics."""
        base = self.log_dir(run_dir)
        return {"train": base / self.train_csv, "valid": base / self.valid_csv}

    def read_metrics(self, run_dir: Path) -> dict[str, MetricRows]:
        return {split: read_metrics(path) for split, path in self.csv_paths(run_dir).items()}

    # --- the LoggerBase contract -----------------------------------------------------------------

    def setup(self, runtime: Runtime) -> None:
        # Only rank 0 writes: other ranks would race on the same files with the same rows.
        self._active = runtime.rank == 0
        if runtime.run_dir is None:
            raise RunError("the local logger writes into the run directory, but none was given to it")
        self._run_dir = Path(runtime.run_dir)

    def start(self, *, resumed_from: int | None, state: dict[str, Any]) -> None:
        if not self._active:
            return
        if self._run_dir is None:
            raise RunError("the local logger was started before setup(runtime)")
        self._secrets = secret_values()
        for split, path in self.csv_paths(self._run_dir).items():
            table = MetricTable(path)
            dropped = table.open(resumed_from)
            self._tables[split] = table
            if dropped:
                self._dropped_message(path, dropped, resumed_from)
        log_dir = self.log_dir(self._run_dir)
        self._stdout = MessageLog(log_dir / self.stdout_file)
        self._stdout.open()
        if os.path.normpath(self.stdout_file) == os.path.normpath(self.stderr_file):
            self._stderr = self._stdout
        else:
            self._stderr = MessageLog(log_dir / self.stderr_file)
            self._stderr.open()
        for text in self._pending:
            self.message("INFO", text)
        self._pending.clear()
        if self.capture_python:
            self._install_hooks()

    def log(self, split: Split, iteration: int, metrics: dict[str, float]) -> None:
        if not self._active:
            return
        table = self._tables.get(split)
        if table is None:
            if split not in ("train", "valid"):
                raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
            raise RuntimeError("the local logger was used before start()")
        if not table.append(iteration, metrics):
            self.message("WARNING", f"{split} iteration {iteration} not logged: iteration "
                                    f"{table.last_iteration} is already in {table.path.name}")

    def message(self, level: str, content: str | dict[str, Any]) -> None:
        if not self._active:
            return
        level = level.upper()
        if level not in LEVELS:
            raise ValueError(f"message level must be one of {', '.join(LEVELS)}, got {level!r}")
        target = self._stderr if level in _STDERR_LEVELS else self._stdout
        if target is not None:
            target.write(level, redact(content, self._secrets))

    def finish(self, status: str) -> None:
        if not self._active:
            return
        # Called from the trainer's `finally`, a failed run's exception is still in flight: record it
        # here, since lca-run reports it itself and the interpreter's excepthook never sees it.
        in_flight = sys.exc_info()[1]
        try:
            if status == "failed" and in_flight is not None and self._stderr is not None:
                self._record_exception(in_flight)
            if self._stdout is not None:
                self.message("INFO", f"run {status}")
        except LogWriteError:
            if in_flight is None:  # else the error in flight is the one to report (often the same full disk)
                self._close()
                raise
        self._close()

    def _close(self) -> None:
        self._uninstall_hooks()
        for table in self._tables.values():
            table.close()
        self._tables.clear()
        for log in (self._stdout, self._stderr):
            if log is not None:
                log.close()
        self._stdout = self._stderr = None

    # --- internals -------------------------------------------------------------------------------

    def _dropped_message(self, path: Path, dropped: int, resumed_from: int | None) -> None:
        if resumed_from is None:
            text = f"fresh start: removed {dropped} rows of an earlier run from {path.name}"
        else:
            text = (f"resumed after iteration {resumed_from}: removed {dropped} rows of {path.name} "
                    "logged after that checkpoint (they are logged again)")
        self._pending.append(text)

    def _install_hooks(self) -> None:
        self._saved_hooks = {"showwarning": warnings.showwarning, "excepthook": sys.excepthook}
        warnings.showwarning = self._show_warning
        sys.excepthook = self._excepthook
        self._handler = _MessageHandler(self)
        for name in _LIBRARY_LOGGERS:
            logging.getLogger(name).addHandler(self._handler)

    def _uninstall_hooks(self) -> None:
        # Restore only what is still ours: a hook someone installed after us stays theirs.
        if self._saved_hooks:
            if warnings.showwarning == self._show_warning:
                warnings.showwarning = self._saved_hooks["showwarning"]
            if sys.excepthook == self._excepthook:
                sys.excepthook = self._saved_hooks["excepthook"]
            self._saved_hooks = {}
        if self._handler is not None:
            for name in _LIBRARY_LOGGERS:
                logging.getLogger(name).removeHandler(self._handler)
            self._handler = None

    def _show_warning(self, message, category, filename, lineno, file=None, line=None):
        try:
            self.message("WARNING", {"category": category.__name__, "location": f"{filename}:{lineno}",
                                     "message": str(message)})
        except LogWriteError:  # a warning must not raise into the code that warned; it still reaches stderr
            pass
        previous = self._saved_hooks.get("showwarning")
        if previous is not None:
            previous(message, category, filename, lineno, file, line)

    def _excepthook(self, exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            self.message("INFO", "interrupted by the user (KeyboardInterrupt)")
        else:
            self._record_exception(exc)
            self.message("ERROR", "the run ended with an uncaught exception")
        previous = self._saved_hooks.get("excepthook") or sys.__excepthook__
        previous(exc_type, exc, tb)


    def _record_exception(self, exc: BaseException) -> None:
        frames = [{"location": f"{f.filename}:{f.lineno}", "line": f.line}
                  for f in traceback.extract_tb(exc.__traceback__)]
        self.message("ERROR", {"category": type(exc).__name__, "traceback": frames, "message": str(exc)})


class _MessageHandler(logging.Handler):
    """Sends library log records (transformers, datasets) to the logger's message files."""

    def __init__(self, logger: LocalLogger):
        super().__init__(level=logging.INFO)
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelname if record.levelname in LEVELS else "INFO"
            self._logger.message(level, {"logger": record.name, "message": record.getMessage()})
        except Exception:  # a logging handler must never raise into library code
            self.handleError(record)
