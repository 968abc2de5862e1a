"""The local logger's file formats: metric CSVs and JSON Lines message logs that survive a SIGKILL.

Both writers append each record with a single ``os.write`` on an ``O_APPEND`` descriptor, with no
user-space buffer: a process killed at any instant leaves whole records on disk (a regular-file
write is never half-done by a signal), and concurrent writers never interleave inside a line.

- **Metric CSV** (`MetricTable`): the first column is ``iter_num``; the others appear in the order
  the metrics were first logged. When a new metric shows up mid-run, the file is rewritten with the
  wider header into a temporary file and swapped in with ``os.replace`` (atomic), earlier rows
  getting empty cells; so the file on disk always has one header that matches every row.
- **Message log** (`MessageLog`): JSON Lines, one ``{"timestamp", "level", "content"}`` object per
  line (the original's single JSON array broke when the process died before its closing ``]``).
  Read it with `read_messages`, ``jq -c . FILE`` or ``pandas.read_json(FILE, lines=True)``.

Readers skip a torn last line (a power cut) instead of failing; writers cut it off when they reopen
the file. A write that fails (a full disk, a quota) is cut back to the last whole record at once and
raised as `LogWriteError`, naming the file: the file never holds a torn row, even while the run goes on
to report the error.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lca_core.api.errors import RunError

ITER = "iter_num"


class LogWriteError(RunError):
    """A log record could not be written; the file was cut back to its last whole record."""


def _write_error(path: Path, what: str, exc: OSError) -> LogWriteError:
    return LogWriteError(f"cannot write {what} to {path}: {exc.strerror or exc}; the file holds every record "
                         "before it, whole. Free space (or fix the permission) and run again: training resumes "
                         "from the latest checkpoint and logs the missing rows again")


def _append_record(fd: int, path: Path, data: bytes, what: str) -> None:
    """Append ``data`` whole, or leave the file as it was and raise `LogWriteError` naming ``path``."""
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        _write_all(fd, data)
    except OSError as exc:
        try:
            os.ftruncate(fd, start)  # frees what the partial record took: works on a full disk too
        except OSError:
            pass
        raise _write_error(path, what, exc) from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _open_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _replace_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(path, "a rewrite", exc) from None


def cut_torn_tail(path: Path) -> None:
    """Truncate ``path`` after its last newline: drops a line a crash left half-written."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as handle:
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            chunk = handle.read(end - start)
            if end == size and chunk.endswith(b"\n"):
                return
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            end = start
        handle.truncate(0)


# --- metric CSVs ---------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A metric as a CSV cell: floats at full precision (``repr``), None as an empty cell."""
    if value is None:
        return ""
    if hasattr(value, "item") and callable(value.item):  # a 0-d tensor or numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(cell: str) -> float | int | str | None:
    """A CSV cell back to a number where it is one; empty cells are None."""
    if cell == "":
        return None
    if cell.lstrip("-").isdigit():
        return int(cell)
    try:
        return float(cell)
    except ValueError:
        return cell


def _csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(cells))
    return buffer.getvalue()


def _read_records(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the well-formed rows of a metric CSV, as strings (see `read_metrics`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    records = list(csv.reader(io.StringIO(text)))
    if not records:
        return [], []
    columns = records[0]
    if not columns or columns[0] != ITER:
        raise ValueError(f"{path}: the first column is {columns[:1]!r}, not '{ITER}': not a metric log")
    rows = [r for r in records[1:] if len(r) == len(columns) and r[0].lstrip("-").isdigit()]
    return columns, rows


def read_metrics(path: str | os.PathLike[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of a metric CSV (``iter_num`` as int, numbers parsed, empty cells None).

    A missing or empty file gives ``([], [])``. A torn last line and rows of the wrong width are
    skipped. A file without an ``iter_num`` column raises ValueError: it is not a metric log.
    """
    columns, records = _read_records(Path(path))
    return columns, [dict(zip(columns, map(parse_value, record))) for record in records]


class MetricTable:
    """One metric CSV keyed by ``iter_num``: append-only, at most one row per iteration, columns may grow."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.columns: list[str] = [ITER]
        self.last_iteration: int | None = None
        self._fd: int | None = None

    def open(self, keep_through: int | None) -> int:
        """Open for appending, keeping only rows with ``iter_num <= keep_through`` (None keeps none).

        Rows past ``keep_through`` come from a run killed after its last checkpoint; the resumed run
        logs those iterations again. Returns how many rows were dropped.
        """
        for stale in self.path.parent.glob(f".{self.path.name}.tmp-*"):  # a rewrite cut short by a kill
            stale.unlink(missing_ok=True)
        columns, records = _read_records(self.path)
        kept = [r for r in records if keep_through is not None and int(r[0]) <= keep_through]
        if columns:
            self.columns = columns
        self._rewrite(kept)
        self.last_iteration = max((int(r[0]) for r in kept), default=None)
        return len(records) - len(kept)

    def append(self, iteration: int, metrics: Mapping[str, Any]) -> bool:
        """Write one row; False (and nothing written) when ``iteration`` is not after the last one."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not open")
        if self.last_iteration is not None and iteration <= self.last_iteration:
            return False
        new = [name for name in metrics if name not in self.columns and name != ITER]
        if new:
            records = _read_records(self.path)[1]
            self.columns = self.columns + new
            self._rewrite([record + [""] * len(new) for record in records])
        cells = [str(int(iteration))] + [format_value(metrics.get(name)) for name in self.columns[1:]]
        _append_record(self._fd, self.path, _csv_line(cells).encode("utf-8"), f"the row of iteration {iteration}")
        self.last_iteration = iteration
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _rewrite(self, records: list[list[str]]) -> None:
        """Swap in a file holding the header and ``records``, then reopen it for appending."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(records)
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(self.path, buffer.getvalue().encode("utf-8"))
        self._fd = _open_append(self.path)


# --- JSON Lines message logs ---------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _finite(value: Any) -> Any:
    """NaN and infinities as strings: strict JSON has no literal for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class MessageLog:
    """A JSON Lines file of messages; several loggers may share one (stdout and stderr the same file)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def open(self) -> None:
        cut_torn_tail(self.path)
        self._fd = _open_append(self.path)

    def write(self, level: str, content: Any) -> None:
        if self._fd is None:
            return
        record = {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "level": level,
            "content": _finite(content),
        }
        line = json.dumps(record, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
        _append_record(self._fd, self.path, line.encode("utf-8"), "a message")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_messages(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a JSON Lines message log; a missing file is empty, a torn last line is skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if index == len(lines) - 1:  # torn by a crash mid-write: nothing after it
                break
            raise ValueError(f"{path}: line {index + 1} is not JSON") from None
    return records
