"""Presenting evaluation results: a side-by-side terminal table, a JSON file with everything, a bar chart PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lca_core.evaluation.metrics import METRICS

SHORT = {"exact_match": "EM", "exact_match_strip": "EMs", "edit_similarity": "ES"}
AVERAGES = {
    "micro": "mean over lines",
    "macro": "mean over the lines of each file, then over files (the LCA leaderboard's way)",
}


def table(results: list[dict[str, Any]]) -> str:
    """One row per (model, composer, category); micro columns, then macro columns."""
    metrics = [m for m in METRICS if any(m in cat for r in results for cat in r["categories"].values())]
    head = ["model", "composer", "category", "lines", "files"]
    rows = []
    for result in results:
        for category, numbers in result["categories"].items():
            row = [result["model"], result["composer"], category, str(numbers["lines"]), str(numbers["files"])]
            for average in AVERAGES:
                row += [f"{numbers[m][average]:.1f}" if m in numbers else "-" for m in metrics]
            rows.append(row)
    names = [SHORT[m] for m in metrics]
    header = head + [f"{n} {a}" for a in AVERAGES for n in names]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    split = len(head)

    def fmt(cells: list[str]) -> str:
        left = "  ".join(c.ljust(w) for c, w in zip(cells[:split], widths))
        right = "  ".join(c.rjust(w) for c, w in zip(cells[split:], widths[split:]))
        return f"{left}  | {right}"

    legend = [
        "  ".join(f"{SHORT[m]} = {METRICS[m]}" for m in metrics),
        "  ".join(f"{a} = {text}" for a, text in AVERAGES.items()),
        "all numbers are percentages",
    ]
    return "\n".join([fmt(header), "-" * len(fmt(header)), *(fmt(r) for r in rows), "", *legend])


def write_json(path: Path, payload: dict[str, Any]) -> None:
    payload = {**payload, "metrics": METRICS, "averages": AVERAGES}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def bar_chart(path: Path, results: list[dict[str, Any]], *, title: str) -> None:
    """Macro averages per category, one bar per (model, composer), one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = sorted({c for r in results for c in r["categories"]})
    metrics = [m for m in ("exact_match", "edit_similarity")
               if any(m in r["categories"].get(c, {}) for r in results for c in categories)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics) + 1, 4.2), squeeze=False)
    width = 0.8 / max(len(results), 1)
    for axis, metric in zip(axes[0], metrics):
        for i, result in enumerate(results):
            values = [result["categories"].get(c, {}).get(metric, {}).get("macro", 0.0) for c in categories]
            xs = [k + (i - (len(results) - 1) / 2) * width for k in range(len(categories))]
            bars = axis.bar(xs, values, width, label=f"{result['model']} · {result['composer']}")
            axis.bar_label(bars, fmt="%.1f", fontsize=7)
        axis.set_xticks(range(len(categories)), categories)
        axis.set_ylabel({"exact_match": "exact match (%)", "edit_similarity": "edit similarity (0-100)"}[metric])
        axis.set_title(f"{SHORT[metric]}, macro (per file, then over files)", fontsize=10)
        axis.set_ylim(0, 100 if metric == "edit_similarity" else max(5.0, 1.15 * max(
            (r["categories"].get(c, {}).get(metric, {}).get("macro", 0.0) for r in results for c in categories),
            default=0.0)))
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
