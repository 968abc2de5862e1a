"""``lca-run RUN.toml [key=value ...]``: the main job — fine-tune as the run file says."""

from __future__ import annotations

import argparse
import os

from lca_core.cli.common import add_run_file, load


#: options of the main job that take a value (so ``lca-run --nproc 2 RUN.toml`` finds the run file)
VALUE_OPTIONS = ("--nproc", "--log-every")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lca_core.training.progress import parse_every

    add_run_file(parser)
    parser.add_argument("--nproc", type=int, default=0, help="processes on this machine (starts torchrun)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar: plain log lines (the default when output is not a terminal)")
    parser.add_argument("--log-every", type=parse_every, default=None, metavar="N|Ss",
                        help="a plain log line every N steps, or every S seconds with an s suffix "
                             "(default: about every 30 s of wall time)")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    from lca_core.training.launch import launch, under_torchrun

    if args.nproc > 1 and not under_torchrun():
        from lca_core.training.distributed import per_rank_accumulation

        per_rank_accumulation(config.trainer.gradient_accumulation_steps, args.nproc)  # fail before starting
        extra = ["--log-every", args.log_every.text] if args.log_every is not None else []
        return launch(args.nproc, args.run_file, [*args.overrides, *extra], progress=not args.no_progress)
    from lca_core.config.snapshot import write_config_snapshot
    from lca_core.training.build import build_trainer
    from lca_core.training.distributed import shutdown

    run_dir = config.run_dir
    main = int(os.environ.get("RANK", "0")) == 0
    if main:
        for folder in ("checkpoints", "logs"):
            (run_dir / folder).mkdir(parents=True, exist_ok=True)
        write_config_snapshot(config, run_dir)
    try:
        trainer = build_trainer(config, progress=progress_settings(args))
        if main:
            _train(config, trainer)
        else:
            trainer.train()
    finally:
        shutdown()
    return 0


def progress_settings(args: argparse.Namespace):
    """What the command line asks of the progress display (docs/training.md, "Progress")."""
    from lca_core.training.progress import ProgressSettings

    return ProgressSettings(bar=not args.no_progress, every=args.log_every)


def _train(config, trainer) -> None:
    """Train, with what the run is and how it ended on the terminal."""
    run_dir = config.run_dir
    start = trainer.state.iteration
    print(f"run '{config.run_name}' → {run_dir}")
    print(f"  model {config.model.name_or_path}: {trainer.num_params / 1e6:.2f}M parameters on "
          f"{trainer.hardware.device} ({trainer.hardware.param_dtype})")
    print(f"  {len(trainer.train_data)} training / {len(trainer.valid_data) if trainer.valid_data is not None else 0} "
          f"validation datapoints; steps {start} → {config.trainer.max_iters}"
          + (f" (resumed from {trainer.resumed_from})" if trainer.resumed_from is not None else ""), flush=True)
    if trainer.dist.enabled:
        print(f"  distributed: {trainer.describe_distributed()}", flush=True)
    state = trainer.train()
    final = trainer.state.last_valid
    summary = f"; validation cross_entropy {final['cross_entropy']:.4f}" if "cross_entropy" in final else ""
    print(f"done: {state.iteration} steps{summary}; checkpoints in {run_dir / 'checkpoints'}")
