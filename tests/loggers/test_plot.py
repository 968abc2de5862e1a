"""``lca-run plot``: a PNG of the curves the local logger wrote, and clear errors without them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lca_core.api.components import Runtime
from lca_core.api.errors import RunError
from lca_core.cli.plot import panels, read_curves, run_logger
from tests.console import lca_run as run_console
from lca_plugins.loggers.local import LocalLogger
from lca_plugins.schedulers.schedules import CosineWarmup

CATEGORIES = ("inproject", "infile", "commited", "common", "non_informative", "random")


def write_run(run_dir: Path, **logger_params) -> None:
    """Log 30 iterations the way the trainer does: valid at 0 and every 10, train from 1."""
    schedule = CosineWarmup(warmup_iters=5, lr_decay_iters=30)
    logger = LocalLogger(**logger_params)
    logger.setup(Runtime(run_dir=run_dir))
    logger.start(resumed_from=None, state={})
    for it in range(31):
        loss = 1.0 + 2.0 / (it + 1)
        if it:
            logger.log("train", it, {"cross_entropy": loss, "detached_cross_entropy": loss + 1,
                                     "learning_rate": schedule.lr(it, 1e-4), "grad_norm": 1.0 / it,
                                     "tokens_per_second": 900.0})
        if it % 10 == 0:
            metrics = {"cross_entropy": loss + 0.1, "inproject_top_1_accuracy": 0.4, "completion_exact_match": 0.2}
            metrics.update({f"{c}_cross_entropy": loss + i / 10 for i, c in enumerate(CATEGORIES)})
            logger.log("valid", it, metrics)
    logger.finish("completed")


def lca_run(*args: str) -> subprocess.CompletedProcess:
    return run_console("plot", *args, timeout=120)


@pytest.mark.slow
def test_plot_writes_a_png_of_the_training_and_validation_curves(tmp_path):
    write_run(tmp_path / "run")
    out = tmp_path / "figures" / "curves.png"
    result = lca_run(str(tmp_path / "run"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (train: 30 rows, valid: 4 rows)" in result.stdout
    from matplotlib.image import imread

    height, width, _ = imread(out).shape
    assert width > 1500 and height > 1000  # six panels on a 3×2 grid


def test_metrics_are_grouped_into_panels(tmp_path):
    write_run(tmp_path)
    groups = panels(read_curves(tmp_path))
    assert groups == {
        "loss": ["cross_entropy", "detached_cross_entropy"],
        "cross-entropy per line category": [f"{c}_cross_entropy" for c in CATEGORIES],
        "learning rate": ["learning_rate"],
        "gradient norm": ["grad_norm"],
        "top-k accuracy": ["inproject_top_1_accuracy"],
        "exact match (teacher-forced)": ["completion_exact_match"],
    }


def test_plot_reads_the_file_names_from_the_resolved_config(tmp_path):
    write_run(tmp_path, directory="metrics", train_csv="t.csv", valid_csv="v.csv")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "resolved.toml").write_text(
        '[logger]\nname = "wandb"\nproject = "x"\ndirectory = "metrics"\ntrain_csv = "t.csv"\nvalid_csv = "v.csv"\n'
    )
    logger = run_logger(tmp_path)
    assert type(logger).__name__ == "WandbLogger"  # built from the registry, as the run file named it
    assert logger.csv_paths(tmp_path) == {"train": tmp_path / "metrics" / "t.csv", "valid": tmp_path / "metrics" / "v.csv"}
    assert set(read_curves(tmp_path)) == {"train", "valid"}


def test_plot_says_when_the_runs_logger_keeps_no_metrics(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "resolved.toml").write_text('[logger]\nname = "dummy"\n')
    with pytest.raises(RunError, match="keeps no metrics that lca-run plot can read"):
        read_curves(tmp_path)


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_plot_says_what_is_wrong_with_the_run_directory(tmp_path, case):
    run_dir = tmp_path / "runs" / "nope"
    if case == "empty":
        (run_dir / "logs").mkdir(parents=True)
        (run_dir / "logs" / "train.csv").write_text("")
    result = lca_run(str(run_dir))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    expected = "does not exist" if case == "missing" else "no metrics to plot"
    assert result.stderr.startswith("lca-run: error: ") and expected in result.stderr and str(run_dir) in result.stderr


def write_overfitting_run(run_dir: Path) -> None:
    """Training CE falls throughout; validation CE bottoms out at iteration 20 and rises; full_cross_entropy equals
    cross_entropy (the loss covers every token) and mfu is NaN on every row (a CPU run)."""
    logger = LocalLogger()
    logger.setup(Runtime(run_dir=run_dir))
    logger.start(resumed_from=None, state={})
    for it in range(41):
        if it:
            loss = 3.0 / it
            logger.log("train", it, {"cross_entropy": loss, "full_cross_entropy": loss, "learning_rate": 1e-4,
                                     "mfu": float("nan")})
        if it % 10 == 0:
            valid = 2.0 + abs(it - 20) / 20
            logger.log("valid", it, {"cross_entropy": valid, "full_cross_entropy": valid})
    logger.finish("completed")


def test_legends_name_every_curve_drop_empty_series_merge_equal_ones_and_mark_overfitting(tmp_path):
    from lca_core.cli.plot import draw, overfitting

    write_overfitting_run(tmp_path)
    curves = read_curves(tmp_path)
    assert "mfu" not in [name for names in panels(curves).values() for name in names]
    assert overfitting(curves) == (20, 2.0, 3.0)
    loss_axes = draw(curves).axes[0]
    assert loss_axes.get_title() == "loss"
    labels = [text.get_text() for text in loss_axes.get_legend().get_texts()]
    assert labels == ["cross_entropy = full_cross_entropy · train", "cross_entropy = full_cross_entropy · valid",
                      "best valid (iteration 20); higher after: overfitting"]
    assert len(loss_axes.get_lines()) == 3  # the equal series drawn once

    done = lca_run(str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "overfitting: validation cross_entropy was lowest at iteration 20 (2.0000) and is 3.0000 at the end" \
        in done.stdout


def test_no_overfitting_mark_while_validation_improves(tmp_path):
    from lca_core.cli.plot import overfitting

    write_run(tmp_path)
    assert overfitting(read_curves(tmp_path)) is None
