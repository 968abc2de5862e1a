"""Line metrics (exact match raw and stripped, edit similarity) and their per-category averages.

Every metric but cross-entropy (nats per token) is a percentage (0-100); a line's teacher-forced
numbers are means over its tokens. Two averages are reported for every category, and the output always says which is which:
- **micro**: the mean over scored lines (kotlineval / vLLM scripts of the original);
- **macro**: the mean over the lines of each file, then over files that have a line of that
  category (the Long Code Arena leaderboard's way).

Each category's sums are kept apart: the reference's edit similarity carried its running sum from one
category into the next, which polluted every category after the first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import attrs

#: metric name -> what it means (shown in tables and written to the JSON file)
METRICS: dict[str, str] = {
    "exact_match": "prediction == true line, character for character",
    "exact_match_strip": "prediction.strip() == true line.strip()",
    "edit_similarity": "rapidfuzz.fuzz.ratio(prediction, true line), 0-100, not stripped",
    "cross_entropy": "teacher-forced: mean over the line's tokens of -log p(true token), nats; lower is better",
    "top1_accuracy": "teacher-forced: % of the line's tokens whose true token is the model's first choice",
    "top5_accuracy": "teacher-forced: % of the line's tokens whose true token is among its five most likely",
}
#: metrics that are not percentages, with their unit
UNITS: dict[str, str] = {"cross_entropy": "nats per token"}
#: metrics where a lower value is better
LOWER_IS_BETTER = frozenset({"cross_entropy"})


@attrs.frozen
class LineScore:
    """The scores of one line of one file; a metric a mode cannot compute is None (teacher forcing has no ES,
    generation no cross-entropy)."""

    file: int
    line: int
    category: str
    exact_match: float
    exact_match_strip: float | None = None
    edit_similarity: float | None = None
    cross_entropy: float | None = None
    top1_accuracy: float | None = None
    top5_accuracy: float | None = None


def score_line(prediction: str, target: str, *, file: int, line: int, category: str) -> LineScore:
    """Compare a predicted line with the true one."""
    from rapidfuzz import fuzz

    return LineScore(
        file=file,
        line=line,
        category=category,
        exact_match=100.0 * (prediction == target),
        exact_match_strip=100.0 * (prediction.strip() == target.strip()),
        edit_similarity=float(fuzz.ratio(prediction, target)),
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def aggregate(scores: Iterable[LineScore]) -> dict[str, dict]:
    """category -> {"lines": n, "files": m, metric: {"micro": x, "macro": y}, "by_file": {file: {metric: mean}}}
    (metrics no line has are left out; ``by_file`` holds each file's mean, the numbers the macro averages and
    the per-file comparisons of composers are made of)."""
    by_category: dict[str, list[LineScore]] = defaultdict(list)
    for score in scores:
        by_category[score.category].append(score)
    out: dict[str, dict] = {}
    for category in sorted(by_category):
        rows = by_category[category]
        by_file: dict[int, list[LineScore]] = defaultdict(list)
        for row in rows:
            by_file[row.file].append(row)
        result: dict = {"lines": len(rows), "files": len(by_file)}
        per_file: dict[int, dict[str, float]] = {file: {} for file in sorted(by_file)}
        for metric in METRICS:
            if any(getattr(row, metric) is None for row in rows):
                continue
            for file, file_rows in by_file.items():
                per_file[file][metric] = _mean([getattr(row, metric) for row in file_rows])
            micro = _mean([getattr(row, metric) for row in rows])
            macro = _mean([values[metric] for values in per_file.values()])
            result[metric] = {"micro": micro, "macro": macro}
        result["by_file"] = per_file
        out[category] = result
    return out


def paired_difference(reference: dict, other: dict, metric: str) -> dict | None:
    """How ``other``'s per-file means of ``metric`` differ from ``reference``'s over the files both scored
    (two categories' entries from `aggregate`, possibly read back from JSON, whose keys are strings):
    the mean difference (other - reference), its standard deviation over files, and in how many files
    ``other`` is better or worse. None when no file has the metric in both."""
    import statistics

    ref = {str(f): v[metric] for f, v in reference.get("by_file", {}).items() if metric in v}
    new = {str(f): v[metric] for f, v in other.get("by_file", {}).items() if metric in v}
    files = sorted(ref.keys() & new.keys(), key=lambda f: (len(f), f))
    if not files:
        return None
    diffs = [new[f] - ref[f] for f in files]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return {
        "metric": metric, "files": len(files), "mean": _mean(diffs),
        "sd": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
        "better": sum(sign * d > 0 for d in diffs), "worse": sum(sign * d < 0 for d in diffs),
    }
