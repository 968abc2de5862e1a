"""Presenting evaluation results: a side-by-side terminal table, a JSON file with everything, a bar chart PNG."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lca_core.evaluation.metrics import LOWER_IS_BETTER, METRICS, UNITS, paired_difference

SHORT = {"exact_match": "EM", "exact_match_strip": "EMs", "edit_similarity": "ES", "cross_entropy": "CE",
         "top1_accuracy": "top1", "top5_accuracy": "top5"}
AVERAGES = {
    "micro": "mean over lines",
    "macro": "mean over the lines of each file, then over files (the LCA leaderboard's way)",
}
CONTEXT = "ctx = mean context tokens the model saw per file (after cutting to the window)"
#: chart panels: metric -> axis label
PANELS = {"exact_match": "exact match (%)", "edit_similarity": "edit similarity (0-100)",
          "cross_entropy": "cross-entropy (nats/token, lower is better)", "top1_accuracy": "top-1 token accuracy (%)",
          "top5_accuracy": "top-5 token accuracy (%)"}


def _metrics(results: list[dict[str, Any]]) -> list[str]:
    return [m for m in METRICS if any(m in cat for r in results for cat in r["categories"].values())]


def _number(metric: str, value: float) -> str:
    return f"{value:.3f}" if metric in UNITS else f"{value:.1f}"


def table(results: list[dict[str, Any]]) -> str:
    """One row per (model, composer, category); context tokens, micro columns, then macro columns."""
    metrics = _metrics(results)
    head = ["model", "composer", "category", "lines", "files", "ctx"]
    rows = []
    for result in results:
        context = f"{result.get('context_tokens', {}).get('mean', 0):.0f}"
        for category, numbers in result["categories"].items():
            row = [result["model"], result["composer"], category, str(numbers["lines"]), str(numbers["files"]), context]
            for average in AVERAGES:
                row += [_number(m, numbers[m][average]) if m in numbers else "-" for m in metrics]
            rows.append(row)
    names = [SHORT[m] for m in metrics]
    header = head + [f"{n} {a}" for a in AVERAGES for n in names]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    split = 3

    def fmt(cells: list[str]) -> str:
        left = "  ".join(c.ljust(w) for c, w in zip(cells[:split], widths))
        right = "  ".join(c.rjust(w) for c, w in zip(cells[split:], widths[split:]))
        return f"{left}  | {right}"

    units = [f"{SHORT[m]} in {UNITS[m]}" for m in metrics if m in UNITS]
    legend = [
        *(f"{SHORT[m]} = {METRICS[m]}" for m in metrics),
        "  ".join(f"{a} = {text}" for a, text in AVERAGES.items()),
        CONTEXT,
        "all numbers are percentages" + (f" except {', '.join(units)}" if units else ""),
    ]
    return "\n".join([fmt(header), "-" * len(fmt(header)), *(fmt(r) for r in rows), "", *legend])


#: the metric composers are compared on, file by file: the sensitive one where the mode has it
COMPARED = ("cross_entropy", "edit_similarity")


def comparisons(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each composer against its model's first composer, file by file, per category: how the per-file means of
    cross-entropy (teacher-forced) or edit similarity (generation) differ, and in how many files."""
    out = []
    first: dict[str, dict[str, Any]] = {}
    for result in results:
        reference = first.setdefault(result["model"], result)
        if reference is result:
            continue
        for category, numbers in result["categories"].items():
            if category not in reference["categories"]:
                continue
            metric = next((m for m in COMPARED if m in numbers), None)
            diff = metric and paired_difference(reference["categories"][category], numbers, metric)
            if diff:
                out.append({"model": result["model"], "composer": result["composer"],
                            "reference": reference["composer"], "category": category, **diff})
    return out


def comparison_table(rows: list[dict[str, Any]]) -> str:
    """The per-file differences as lines under the main table ('' when there are none)."""
    if not rows:
        return ""
    lines = ["per file, against the first composer (difference of the file's mean; sd over files):"]
    for row in rows:
        metric = row["metric"]
        digits = 3 if metric in UNITS else 1
        direction = "lower" if metric in LOWER_IS_BETTER else "higher"
        lines.append(f"  {row['model']}  {row['composer']} vs {row['reference']}  {row['category']}: "
                     f"{SHORT[metric]} {row['mean']:+.{digits}f} (sd {row['sd']:.{digits}f}), better ({direction}) "
                     f"in {row['better']} of {row['files']} files, worse in {row['worse']}")
    return "\n".join(lines)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` at once: a kill leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    payload = {**payload, "metrics": METRICS, "units": UNITS, "averages": AVERAGES, "context_tokens": CONTEXT}
    write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def bar_chart(path: Path, results: list[dict[str, Any]], *, title: str) -> None:
    """Macro averages per category, one bar per (model, composer), one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = sorted({c for r in results for c in r["categories"]})
    metrics = [m for m in PANELS if m in _metrics(results)]
    fig, axes = plt.subplots(1, max(len(metrics), 1), figsize=(5.5 * max(len(metrics), 1) + 1, 4.2), squeeze=False)
    width = 0.8 / max(len(results), 1)
    for axis, metric in zip(axes[0], metrics):
        values_of = {id(r): [r["categories"].get(c, {}).get(metric, {}).get("macro", 0.0) for c in categories]
                     for r in results}
        for i, result in enumerate(results):
            xs = [k + (i - (len(results) - 1) / 2) * width for k in range(len(categories))]
            label = f"{result['model']} · {result['composer']} (ctx {result.get('context_tokens', {}).get('mean', 0):.0f})"
            bars = axis.bar(xs, values_of[id(result)], width, label=label)
            axis.bar_label(bars, fmt="%.2f" if metric in UNITS else "%.1f", fontsize=7)
        axis.set_xticks(range(len(categories)), categories)
        axis.set_ylabel(PANELS[metric])
        axis.set_title(f"{SHORT[metric]}, macro (per file, then over files)", fontsize=10)
        top = max((v for values in values_of.values() for v in values), default=0.0)
        axis.set_ylim(0, 100 if metric in ("edit_similarity", "top5_accuracy") else max(1.0 if metric in UNITS else 5.0,
                                                                                         1.15 * top))
    if metrics:
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:  # no scored line: say so on the chart instead of an empty legend
        axes[0][0].text(0.5, 0.5, "no line was scored", ha="center", va="center", transform=axes[0][0].transAxes)
        axes[0][0].set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
