"""``lca-run RUN.toml [key=value ...]``: the main job — fine-tune as the run file says."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex

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
    parser.add_argument("--allow-changes", action="store_true",
                        help="resume even though the configuration or data changed since the checkpoint "
                             "(docs/reliability.md lists the changes always allowed)")


#: set by the ``--nproc`` launcher for its processes: the command that continues the run
RESTART_ENV = "LCA_RESTART_COMMAND"


def run(args: argparse.Namespace) -> int:
    from lca_core.training.faults import stop_during_startup

    stop_during_startup()  # SIGTERM before training begins: a message and 143, not a silent death
    config = load(args)
    from lca_core.training.launch import launch, under_torchrun
    from lca_core.training.lock import HELD_ENV

    run_dir = config.run_dir
    restart = os.environ.get(RESTART_ENV) or restart_command(args, config)
    if args.nproc > 1 and not under_torchrun():
        from lca_core.training.distributed import per_rank_accumulation

        per_rank_accumulation(config.trainer.gradient_accumulation_steps, args.nproc)  # fail before starting
        with _locked(run_dir):  # held for the processes torchrun starts
            os.environ[HELD_ENV], os.environ[RESTART_ENV] = str(run_dir.resolve()), restart
            extra = ["--allow-changes"] if args.allow_changes else []
            extra += ["--log-every", args.log_every.text] if args.log_every is not None else []
            return launch(args.nproc, args.run_file, args.overrides + extra, progress=not args.no_progress)
    from lca_core.config.snapshot import resolved_toml, write_config_snapshot
    from lca_core.training.build import build_trainer
    from lca_core.training.distributed import shutdown

    main = int(os.environ.get("RANK", "0")) == 0
    with _locked(run_dir) if main else contextlib.nullcontext():
        try:
            if main:
                for folder in ("checkpoints", "logs"):
                    (run_dir / folder).mkdir(parents=True, exist_ok=True)
            trainer = build_trainer(config, progress=progress_settings(args), allow_changes=args.allow_changes,
                                    record=resolved_toml(config))
            trainer.restart_command = restart
            if main:
                # only now: a resume refused above leaves the record describing the checkpoints
                write_config_snapshot(config, run_dir)
                _train(config, trainer)
            else:
                trainer.train()
        finally:
            shutdown()
    return 0


@contextlib.contextmanager
def _locked(run_dir):
    """The run directory's lock for the block (exit 2 naming the holder when another process has it)."""
    import warnings

    from lca_core.training.lock import RunDirLock

    with RunDirLock(run_dir) as lock:
        if lock.stale_message():
            warnings.warn(lock.stale_message(), stacklevel=3)
        yield lock


def restart_command(args: argparse.Namespace, config) -> str:
    """The command that continues this run: the same run file and overrides, resuming."""
    overrides = [o for o in args.overrides if not o.replace(" ", "").startswith("checkpointing.init_from=")]
    if config.checkpointing.init_from != "resume":
        overrides.append("checkpointing.init_from=resume")
    words = ["lca-run", args.run_file, *overrides]
    if args.nproc > 1:
        words += ["--nproc", str(args.nproc)]
    if args.allow_changes:
        words.append("--allow-changes")
    return shlex.join(words)


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
