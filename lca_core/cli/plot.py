"""``lca-run plot RUNDIR``: a PNG of a run's training and validation curves, read from its metric CSVs.

Panels, each drawn only when the CSVs have such columns: the loss (``cross_entropy`` and its
``detached_``/``completion_``/``context_``/``full_`` variants), cross-entropy per LCA line category
(``inproject_cross_entropy``, ...), the learning rate, the gradient norm, top-k accuracy and exact
match. Validation curves are solid with markers, training curves thin, in the same colour per metric;
the legend names each curve with its split. Series without a finite value are left out; a series equal
to one already drawn is drawn once, named ``a = b``. Where validation cross-entropy rose after its
lowest point (while training goes on), a dashed line marks the best iteration: overfitting.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

from lca_core.api.errors import RunError
from lca_core.data.schema import CATEGORY_IDS

CATEGORIES = tuple(CATEGORY_IDS)  # metric prefixes of the per-category columns
_CATEGORY_CE = re.compile(rf"^({'|'.join(CATEGORIES)})_cross_entropy$")
_LOSS = re.compile(r"^(loss|(\w+_)?cross_entropy)$")
_ACCURACY = re.compile(r"accuracy$")
_EXACT_MATCH = re.compile(r"exact_match$")
_LEARNING_RATE = ("learning_rate", "lr")
_GRAD_NORM = ("grad_norm",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUNDIR", help="a run directory (the folder with logs/), or its run file")
    parser.add_argument("--out", metavar="FILE", help="where to write the PNG (default: RUNDIR/curves.png)")


def run(args: argparse.Namespace) -> int:
    run_dir = resolve_run_dir(Path(args.run_dir))
    curves = read_curves(run_dir)
    out = Path(args.out) if args.out else run_dir / "curves.png"
    figure = draw(curves, title=run_dir.name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=110)
    except OSError as exc:
        raise RunError(f"cannot write the plot to '{out}': {exc.strerror or exc}; choose another --out") from None
    rows = {split: len(rows) for split, (_, rows) in curves.items()}
    print(f"wrote {out} (train: {rows.get('train', 0)} rows, valid: {rows.get('valid', 0)} rows)")
    best = overfitting(curves)
    if best is not None:
        print(f"overfitting: validation cross_entropy was lowest at iteration {best[0]} ({best[1]:.4f}) and is "
              f"{best[2]:.4f} at the end; checkpointing.init_from = \"best\" starts from the best checkpoint")
    return 0


def resolve_run_dir(path: Path) -> Path:
    """The run directory named by ``path``: the folder itself, or the one a run file points to."""
    if path.is_file() and path.suffix == ".toml":
        from lca_core.config.loader import load_run_config

        return load_run_config(path).run_dir
    if not path.exists():
        raise RunError(f"run directory '{path}' does not exist; pass the folder a run writes into, e.g. runs/<name>")
    if not path.is_dir():
        raise RunError(f"'{path}' is not a run directory (nor a .toml run file)")
    return path


def run_logger(run_dir: Path) -> Any:
    """The run's logger, built from its resolved ``[logger]`` table (the default logger without one)."""
    from lca_core.api.components import build_params
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.config.schema import COMPONENT_TABLES

    table: dict[str, Any] = {}
    resolved = run_dir / "configs" / "resolved.toml"
    if resolved.is_file():
        from lca_core.config.loader import read_toml

        try:
            table = dict(read_toml(resolved).get("logger", {}))
        except Exception:  # an unreadable snapshot: the default logger's files are still worth a try
            table = {}
    name = table.pop("name", COMPONENT_TABLES["logger"])
    logger, problems = build_params(get_plugin_manager().registry("logger").load(name), table, "logger")
    if problems:
        raise RunError(f"cannot rebuild the run's logger from '{resolved}': {problems[0].path}: {problems[0].message}")
    return logger


def read_curves(run_dir: Path) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """``{split: (columns, rows)}`` for the splits that have rows, as the run's logger reads them back."""
    logger = run_logger(run_dir)
    try:
        tables = logger.read_metrics(run_dir)
    except (ValueError, OSError) as exc:
        raise RunError(f"cannot read metrics: {exc}") from None
    if tables is None:
        raise RunError(f"the run's logger ({type(logger).__name__}) keeps no metrics that lca-run plot can read; "
                       "log with the local logger (or one built on it, such as wandb) to plot")
    curves = {split: (columns, rows) for split, (columns, rows) in tables.items() if rows}
    if not curves:
        raise RunError(f"no metrics to plot in '{run_dir}': its logger has recorded no rows there "
                       "(has the run logged an iteration yet? is this the right folder?)")
    return curves


def panels(curves: dict[str, tuple[list[str], list[dict[str, Any]]]]) -> dict[str, list[str]]:
    """Panel title -> the metric columns drawn in it, in column order."""
    seen: list[str] = []
    for columns, _ in curves.values():
        seen += [c for c in columns[1:] if c not in seen]
    groups: dict[str, list[str]] = {"loss": [], "cross-entropy per line category": [], "learning rate": [],
                                    "gradient norm": [], "top-k accuracy": [], "exact match (teacher-forced)": []}
    for name in seen:
        if not any(_series(rows, name)[0] for _, rows in curves.values()):
            continue  # no finite value anywhere (e.g. mfu on CPU): nothing to draw, nothing to list
        if _CATEGORY_CE.match(name):
            groups["cross-entropy per line category"].append(name)
        elif _LOSS.match(name):
            groups["loss"].append(name)
        elif name in _LEARNING_RATE:
            groups["learning rate"].append(name)
        elif name in _GRAD_NORM:
            groups["gradient norm"].append(name)
        elif _ACCURACY.search(name):
            groups["top-k accuracy"].append(name)
        elif _EXACT_MATCH.search(name):
            groups["exact match (teacher-forced)"].append(name)
    return {title: names for title, names in groups.items() if names}


def _series(rows: list[dict[str, Any]], name: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for row in rows:
        value = row.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            xs.append(row["iter_num"])
            ys.append(float(value))
    return xs, ys


def draw(curves: dict[str, tuple[list[str], list[dict[str, Any]]]], title: str = ""):
    """A matplotlib Figure (Agg canvas, no pyplot state) of the run's curves."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = panels(curves)
    if not groups:
        columns = sorted({c for cols, _ in curves.values() for c in cols[1:]})
        raise RunError(f"nothing to plot: no loss, cross-entropy, learning-rate, gradient-norm, accuracy or "
                       f"exact-match column among {columns}")
    ncols = 2 if len(groups) > 2 else 1
    nrows = math.ceil(len(groups) / ncols)
    figure = Figure(figsize=(8.5 * ncols, 3.6 * nrows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    palette = list(matplotlib.colormaps["tab20"].colors[::2] + matplotlib.colormaps["tab20"].colors[1::2])
    best = overfitting(curves)
    for ax, (panel, names) in zip(axes, groups.items()):
        drawn: list[tuple[str, Any, Any]] = []  # (label, train series, valid series) of the curves drawn
        for name in names:
            train = _series(curves["train"][1], name) if "train" in curves else ([], [])
            valid = _series(curves["valid"][1], name) if "valid" in curves else ([], [])
            twin = next((i for i, (_, t, v) in enumerate(drawn) if _same(t, train) and _same(v, valid)), None)
            if twin is not None:  # e.g. full_cross_entropy = cross_entropy when the loss covers every token
                drawn[twin] = (f"{drawn[twin][0]} = {name}", drawn[twin][1], drawn[twin][2])
                continue
            drawn.append((name, train, valid))
        for index, (label, train, valid) in enumerate(drawn):
            colour = palette[index % len(palette)]
            if train[0]:
                ax.plot(*train, color=colour, linewidth=1 if valid[0] else 1.6, alpha=0.5 if valid[0] else 1.0,
                        label=f"{label} · train")
            if valid[0]:
                ax.plot(*valid, color=colour, linewidth=1.8, marker="o", markersize=3, label=f"{label} · valid")
        if best is not None and panel == "loss":
            ax.axvline(best[0], color="#a00", linestyle="--", linewidth=1,
                       label=f"best valid (iteration {best[0]}); higher after: overfitting")
        ax.set_title(panel)
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
        if panel == "learning rate":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if title:
        figure.suptitle(f"{title} — validation: solid with markers; training: thin")
    return figure


def _same(a: tuple[list, list], b: tuple[list, list]) -> bool:
    return a[0] == b[0] and all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a[1], b[1]))


#: validation cross-entropy this much above its minimum at the end counts as overfitting
OVERFIT_MARGIN = 0.01


def overfitting(curves: dict[str, tuple[list[str], list[dict[str, Any]]]]) -> tuple[int, float, float] | None:
    """(best iteration, best and last validation cross-entropy) when the last is over 1% above the best, or None."""
    if "valid" not in curves:
        return None
    xs, ys = _series(curves["valid"][1], "cross_entropy")
    if len(ys) < 3:
        return None
    best = min(range(len(ys)), key=ys.__getitem__)
    if best == len(ys) - 1 or ys[-1] <= ys[best] * (1 + OVERFIT_MARGIN):
        return None
    return xs[best], ys[best], ys[-1]
