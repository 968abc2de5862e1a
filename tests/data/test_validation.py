"""Validation: each kind of malformed datapoint is named by index, repository and field; the policy decides."""

from __future__ import annotations

import pytest

from lca_core.api.errors import RunError
from lca_core.data.validation import validate, validate_dataset
from tests.factories import make_datapoint


def _set(path: str, value):
    """A mutation that sets the dotted ``path`` of a datapoint (``None`` value deletes the key)."""
    def mutate(dp):
        *parents, last = path.split(".")
        node = dp
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


_DELETE = object()


def _rename(old: str, new: str, parent: str | None = None):
    def mutate(dp):
        node = dp[parent] if parent else dp
        node[new] = node.pop(old)
    return mutate


MALFORMATIONS = {
    "missing field": (_set("repo_snapshot", _DELETE), "repo_snapshot", "is missing"),
    "misspelt field": (_rename("completion_file", "complete_file"), "completion_file", "found 'complete_file'"),
    "repo not a string": (_set("repo", 7), "repo", "must be a string"),
    "empty repo": (_set("repo", " "), "repo", "is empty"),
    "commit hash not a string": (_set("commit_hash", 123), "commit_hash", "must be a string"),
    "completion file not a struct": (_set("completion_file", "text"), "completion_file", "must be a struct"),
    "empty completion filename": (_set("completion_file.filename", ""), "completion_file.filename", "non-empty path"),
    "completion content missing": (_set("completion_file.content", None), "completion_file.content", "must be a string"),
    "empty completion file": (_set("completion_file.content", "\n  \n"), "completion_file.content", "is empty"),
    "NUL in completion file": (_set("completion_file.content", "x = 1\x00\n"), "completion_file.content", "NUL"),
    "non-UTF-8 bytes": (_set("completion_file.content", b"x = '\xff'\n"), "completion_file.content", "not UTF-8"),
    "lone surrogate": (_set("completion_file.content", "x = '\udc80'\n"), "completion_file.content", "surrogate"),
    "committed spelt correctly": (_rename("commited", "committed", "completion_lines"), "completion_lines.commited",
                                  "found 'committed'"),
    "random in raw lines": (_rename("other", "random", "completion_lines_raw"), "completion_lines_raw.other",
                            "is missing"),
    "line list not a list": (_set("completion_lines.infile", 3), "completion_lines.infile", "must be a list"),
    "line index not an integer": (_set("completion_lines.infile", ["5"]), "completion_lines.infile[0]", "integer"),
    "line index is a bool": (_set("completion_lines.infile", [True]), "completion_lines.infile[0]", "integer"),
    "negative line index": (_set("completion_lines_raw.common", [-1]), "completion_lines_raw.common[0]", "negative"),
    "line beyond the file": (_set("completion_lines.inproject", [5, 99]), "completion_lines.inproject[1]",
                             "beyond the completion file, which has 9 lines"),
    "snapshot as list of records": (_set("repo_snapshot", [{"filename": "a.py", "content": ""}]), "repo_snapshot",
                                    "list of records"),
    "snapshot lists not parallel": (_set("repo_snapshot.content", ["x"]), "repo_snapshot", "parallel"),
    "empty snapshot": (_set("repo_snapshot", {"filename": [], "content": []}), "repo_snapshot", "is empty"),
    "snapshot filename not a string": (_set("repo_snapshot.filename", [None, "b", "c", "d", "e"]),
                                       "repo_snapshot.filename[0]", "non-empty path"),
    "duplicate snapshot filename": (_set("repo_snapshot.filename", ["a", "a", "c", "d", "e"]),
                                    "repo_snapshot.filename[1]", "appears twice"),
    "snapshot content missing": (_set("repo_snapshot.content", ["", None, "", "", ""]), "repo_snapshot.content[1]",
                                 "must be a string"),
    "NUL in snapshot file": (_set("repo_snapshot.content", ["", "\x00\x01", "", "", ""]), "repo_snapshot.content[1]",
                             "NUL"),
    "not a record": (lambda dp: dp.clear() or dp.update(_NOT_A_RECORD), "", "must be a record"),
}
_NOT_A_RECORD: dict = {}


@pytest.mark.parametrize("kind", list(MALFORMATIONS))
def test_each_malformation_is_named_by_index_repo_and_field(kind):
    mutate, field, fragment = MALFORMATIONS[kind]
    rows = [make_datapoint(repo="ok__one"), make_datapoint(repo="bad__two"), make_datapoint(repo="ok__three")]
    if kind == "not a record":
        rows[1] = ["not", "a", "dict"]
        repo = ""
    else:
        mutate(rows[1])
        repo = rows[1].get("repo") if isinstance(rows[1].get("repo"), str) else ""
    report = validate(rows)
    assert report.invalid == [1], report.problems
    problem = next(p for p in report.problems if p.field == field)
    assert fragment in problem.message
    assert problem.index == 1 and problem.repo == repo
    assert problem.render().startswith("datapoint 1")


def test_valid_datapoint_has_no_problem():
    report = validate([make_datapoint(), make_datapoint(lines={}, raw_lines={})])
    assert report.problems == [] and report.total == 2


def _dataset(rows):
    from datasets import Dataset

    from lca_core.data.schema import lca_features

    return Dataset.from_list(rows, features=lca_features())


def test_fail_policy_lists_problems_and_what_to_do():
    rows = [make_datapoint(), make_datapoint(repo="acme__tool", lines={"infile": [40]})]
    with pytest.raises(RunError) as info:
        validate_dataset(_dataset(rows), "fail", source="data.path = 'x.parquet'")
    text = str(info.value)
    assert "1 of 2 datapoints in data.path = 'x.parquet' are malformed" in text
    assert "datapoint 1 (repo 'acme__tool'), completion_lines.infile[0]: line 40 is beyond" in text
    assert 'on_invalid = "skip"' in text


def test_skip_policy_drops_and_counts(recwarn):
    rows = [make_datapoint(repo="a__a"), make_datapoint(repo="b__b", content="x\x00"), make_datapoint(repo="c__c")]
    kept = validate_dataset(_dataset(rows), "skip")
    assert kept["repo"] == ["a__a", "c__c"]
    messages = [str(w.message) for w in recwarn]
    assert any("skipped 1 of 3 malformed datapoints" in m and "datapoint 1 (repo 'b__b')" in m for m in messages)


def test_completion_file_in_snapshot_is_dropped_from_the_snapshot(recwarn):
    snapshot = {"pkg/util.py": "def helper(x):\n    return x\n", "pkg/main.py": "LEAKED ANSWER\n"}
    rows = [make_datapoint(snapshot=snapshot), make_datapoint(repo="x__y", content="x = 1\n", lines={},
                                                            snapshot=snapshot)]
    fixed = validate_dataset(_dataset([make_datapoint(), *rows]), "fail")
    assert fixed[1]["repo_snapshot"]["filename"] == ["pkg/util.py"]
    assert all("LEAKED ANSWER" not in content for row in fixed for content in row["repo_snapshot"]["content"])
    assert fixed[0]["repo_snapshot"] == _dataset([make_datapoint()])[0]["repo_snapshot"]
    assert any("2 datapoints" in str(w.message) and "dropped those 2 snapshot entries" in str(w.message)
               for w in recwarn)
