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
    """category -> {"lines": n, "files": m, metric: {"micro": x, "macro": y}} (metrics no line has are left out)."""
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
        for metric in METRICS:
            if any(getattr(row, metric) is None for row in rows):
                continue
            micro = _mean([getattr(row, metric) for row in rows])
            macro = _mean([_mean([getattr(row, metric) for row in file_rows]) for file_rows in by_file.values()])
            result[metric] = {"micro": micro, "macro": macro}
        out[category] = result
    return out
