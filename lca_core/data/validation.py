"""Up-front validation of LCA datapoints: every malformation named by datapoint index, repository and field.

Rules (docs/data.md lists them with the message each gives):

- the six top-level fields must be present and of the right shape and type;
- ``completion_file`` needs a non-empty filename and a non-empty text content;
- ``completion_lines`` / ``completion_lines_raw`` need every category key (``commited`` spelling,
  ``random`` vs ``other``), each a list of integer line indices inside the completion file;
- ``repo_snapshot`` must be two parallel lists of equal length, with non-empty, unique string
  filenames and string contents, and at least one file;
- no text may contain NUL characters or undecodable bytes (lone surrogates, raw bytes);
- a completion file that also appears in the snapshot is not a problem but a leak: that snapshot
  entry is dropped (counted, one warning), so no composer can copy the answer into the context.

`validate_dataset` applies the ``[data] on_invalid`` policy: ``fail`` raises a `RunError` listing the
problems, ``skip`` drops the bad datapoints with a one-line summary.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from lca_core.api.errors import RunError
from lca_core.data.schema import CATEGORIES, FIELDS, RAW_CATEGORIES

#: how many problems a failure message lists before "... and N more"
SHOWN_PROBLEMS = 20
#: rows handed to the checks at a time (bounds memory on LCA's 11 MB-per-datapoint configs)
BATCH_SIZE = 16


@attrs.frozen
class DatapointProblem:
    """One malformation: which datapoint (index, repository), which field, and what is wrong."""

    index: int
    repo: str
    field: str
    message: str

    def render(self) -> str:
        repo = f" (repo '{self.repo}')" if self.repo else ""
        return f"datapoint {self.index}{repo}, {self.field}: {self.message}"


@attrs.define
class ValidationReport:
    """What validation found: problems, the indices they make invalid, and snapshot leaks to drop."""

    total: int = 0
    problems: list[DatapointProblem] = attrs.Factory(list)
    #: datapoint index -> snapshot positions that repeat the completion file
    leaks: dict[int, list[int]] = attrs.Factory(dict)

    @property
    def invalid(self) -> list[int]:
        return sorted({p.index for p in self.problems})


def _text_problem(value: Any) -> str | None:
    """Why a text field is unusable, or None."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"is not UTF-8 text (undecodable byte at offset {exc.start})"
        return "is bytes, not text (store it as a UTF-8 string)"
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if "\x00" in value:
        return f"contains a NUL character at offset {value.index(chr(0))} (binary data, not source text)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid UTF-8 text (lone surrogate at offset {exc.start})"
    return None


def _found_instead(key: str, record: Mapping, expected: tuple[str, ...]) -> str:
    """'; found 'committed' instead' when a misspelt key stands where ``key`` belongs."""
    stray = [str(k) for k in record if k not in expected]
    match = difflib.get_close_matches(key, stray, n=1, cutoff=0.6)
    return f"; found '{match[0]}' instead (the LCA schema spells it '{key}')" if match else ""


def _check_lines(struct: Any, keys: tuple[str, ...], field: str, n_lines: int | None) -> Iterator[tuple[str, str]]:
    if not isinstance(struct, Mapping):
        yield field, f"must be a struct of line lists {{{', '.join(keys)}}}, got {type(struct).__name__}"
        return
    for key in keys:
        if key not in struct or struct[key] is None:
            yield f"{field}.{key}", "is missing" + _found_instead(key, struct, keys)
            continue
        values = struct[key]
        if not isinstance(values, (list, tuple)):
            yield f"{field}.{key}", f"must be a list of line indices, got {type(values).__name__}"
            continue
        for position, line in enumerate(values):
            where = f"{field}.{key}[{position}]"
            if isinstance(line, bool) or not isinstance(line, int):
                yield where, f"line index must be an integer, got {line!r}"
                break
            if line < 0:
                yield where, f"line index {line} is negative"
                break
            if n_lines is not None and line >= n_lines:
                yield where, f"line {line} is beyond the completion file, which has {n_lines} lines (0-based)"
                break


def check_datapoint(datapoint: Any) -> tuple[list[tuple[str, str]], list[int]]:
    """(field, message) problems of one datapoint, and the snapshot positions that leak the completion file."""
    if not isinstance(datapoint, Mapping):
        return [("", f"must be a record (dict), got {type(datapoint).__name__}")], []
    problems: list[tuple[str, str]] = []
    for key in FIELDS:
        if datapoint.get(key) is None:
            problems.append((key, "is missing" + _found_instead(key, datapoint, FIELDS)))
    for key in ("repo", "commit_hash"):
        value = datapoint.get(key)
        if value is not None and not isinstance(value, str):
            problems.append((key, f"must be a string, got {type(value).__name__}"))
    if isinstance(datapoint.get("repo"), str) and not datapoint["repo"].strip():
        problems.append(("repo", "is empty (the split groups datapoints by repository)"))

    n_lines = None
    completion_name = None
    completion = datapoint.get("completion_file")
    if completion is not None:
        if not isinstance(completion, Mapping):
            problems.append(("completion_file", f"must be a struct {{filename, content}}, got {type(completion).__name__}"))
        else:
            name, content = completion.get("filename"), completion.get("content")
            if not isinstance(name, str) or not name.strip():
                problems.append(("completion_file.filename", f"must be a non-empty path, got {name!r}"))
            else:
                completion_name = name
            why = _text_problem(content)
            if why:
                problems.append(("completion_file.content", why))
            elif not content.strip():
                problems.append(("completion_file.content", "is empty: there is nothing to complete"))
            else:
                n_lines = content.count("\n") + 1

    if datapoint.get("completion_lines") is not None:
        problems.extend(_check_lines(datapoint["completion_lines"], CATEGORIES, "completion_lines", n_lines))
    if datapoint.get("completion_lines_raw") is not None:
        problems.extend(_check_lines(datapoint["completion_lines_raw"], RAW_CATEGORIES, "completion_lines_raw", n_lines))

    leaks: list[int] = []
    snapshot = datapoint.get("repo_snapshot")
    if snapshot is not None:
        snapshot_problems, leaks = _check_snapshot(snapshot, completion_name)
        problems.extend(snapshot_problems)
    return problems, leaks


def _check_snapshot(snapshot: Any, completion_name: str | None) -> tuple[list[tuple[str, str]], list[int]]:
    if isinstance(snapshot, list):  # a list of {filename, content} records: the other common spelling
        return [("repo_snapshot", "must be a struct of two parallel lists {filename: [...], content: [...]}, "
                 "got a list of records (convert it: filename=[r['filename'] ...], content=[r['content'] ...])")], []
    if not isinstance(snapshot, Mapping):
        return [("repo_snapshot", f"must be a struct {{filename: [...], content: [...]}}, got {type(snapshot).__name__}")], []
    names, contents = snapshot.get("filename"), snapshot.get("content")
    problems = []
    for key, values in (("filename", names), ("content", contents)):
        if not isinstance(values, (list, tuple)):
            problems.append((f"repo_snapshot.{key}", f"must be a list, got {type(values).__name__}"))
    if problems:
        return problems, []
    if len(names) != len(contents):
        return [("repo_snapshot", f"has {len(names)} filenames but {len(contents)} contents (the lists must be parallel)")], []
    if not names:
        return [("repo_snapshot", "is empty: a project-level datapoint needs at least one other file of its repository")], []
    leaks, seen = [], set()
    for position, (name, content) in enumerate(zip(names, contents)):
        if not isinstance(name, str) or not name.strip():
            problems.append((f"repo_snapshot.filename[{position}]", f"must be a non-empty path, got {name!r}"))
            continue
        if name in seen:
            problems.append((f"repo_snapshot.filename[{position}]", f"'{name}' appears twice in the snapshot"))
        seen.add(name)
        why = _text_problem(content)
        if why:
            problems.append((f"repo_snapshot.content[{position}]", f"('{name}') {why}"))
        if name == completion_name:
            leaks.append(position)
    return problems, leaks


def _rows(dataset: Any) -> Iterator[dict]:
    """Datapoints one by one, decoded in batches (a `datasets.Dataset` or any iterable of dicts)."""
    if hasattr(dataset, "iter") and hasattr(dataset, "column_names"):
        for batch in dataset.iter(batch_size=BATCH_SIZE):
            keys = list(batch)
            for i in range(len(batch[keys[0]]) if keys else 0):
                yield {key: batch[key][i] for key in keys}
    else:
        yield from dataset


def validate(dataset: Iterable[Mapping[str, Any]]) -> ValidationReport:
    """Check every datapoint; nothing is changed."""
    report = ValidationReport()
    missing = [key for key in FIELDS if hasattr(dataset, "column_names") and key not in dataset.column_names]
    for index, datapoint in enumerate(_rows(dataset)):
        report.total += 1
        problems, leaks = check_datapoint(datapoint)
        repo = datapoint.get("repo") if isinstance(datapoint, Mapping) else None
        repo = repo if isinstance(repo, str) else ""
        if missing and not problems:  # a column absent from the whole file: make it the problem of each row
            problems = [(key, "is missing (the column is absent)") for key in missing]
        report.problems.extend(DatapointProblem(index, repo, field, message) for field, message in problems)
        if leaks:
            report.leaks[index] = leaks
    return report


def describe_failure(report: ValidationReport, source: str) -> str:
    shown = report.problems[:SHOWN_PROBLEMS]
    lines = [f"{len(report.invalid)} of {report.total} datapoints in {source} are malformed:"]
    lines += [f"  {p.render()}" for p in shown]
    if len(report.problems) > len(shown):
        lines.append(f"  ... and {len(report.problems) - len(shown)} more problems")
    lines.append('Fix the data, or set [data] on_invalid = "skip" to train on the valid datapoints only.')
    return "\n".join(lines)


def drop_leaked_files(datapoint: dict, positions: list[int]) -> dict:
    """The datapoint without the snapshot entries at ``positions`` (the completion file itself)."""
    snapshot = datapoint["repo_snapshot"]
    keep = [i for i in range(len(snapshot["filename"])) if i not in set(positions)]
    datapoint["repo_snapshot"] = {key: [snapshot[key][i] for i in keep] for key in ("filename", "content")}
    return datapoint


def validate_dataset(dataset, on_invalid: str = "fail", source: str = "the dataset"):
    """Apply the ``[data] on_invalid`` policy to a `datasets.Dataset` and remove completion-file leaks.

    Returns the dataset to train on. ``fail``: a `RunError` listing the problems; ``skip``: the valid
    datapoints, with a one-line warning counting the skipped ones.
    """
    report = validate(dataset)
    if report.problems:
        if on_invalid == "fail":
            raise RunError(describe_failure(report, source))
        bad = set(report.invalid)
        first = report.problems[0].render()
        warnings.warn(
            f"skipped {len(bad)} of {report.total} malformed datapoints in {source} (on_invalid = \"skip\"); "
            f"first: {first}",
            stacklevel=2,
        )
        keep = [i for i in range(report.total) if i not in bad]
        new_index = {old: new for new, old in enumerate(keep)}
        leaks = {new_index[i]: v for i, v in report.leaks.items() if i not in bad}
        dataset = dataset.select(keep)
        report.leaks = leaks
    if report.leaks:
        count = sum(len(v) for v in report.leaks.values())
        warnings.warn(
            f"{len(report.leaks)} datapoints in {source} list their completion file in the snapshot too; "
            f"dropped those {count} snapshot entries so the context cannot contain the answer",
            stacklevel=2,
        )
        leaks = report.leaks
        dataset = dataset.map(
            lambda row, index: drop_leaked_files(row, leaks[index]) if index in leaks else row,
            with_indices=True,
            desc="dropping leaked completion files",
        )
    return dataset
