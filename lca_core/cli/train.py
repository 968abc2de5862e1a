"""``lca-run RUN.toml [key=value ...]``: the main job — fine-tune as the run file says."""

from __future__ import annotations

import argparse

from lca_core.cli.common import add_run_file, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_file(parser)
    parser.add_argument("--nproc", type=int, default=0, help="processes on this machine (starts torchrun)")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    from lca_core.config.snapshot import write_config_snapshot

    write_config_snapshot(config, config.run_dir)
    print(f"configuration written to {config.run_dir / 'configs'}; training is not available yet")
    return 1
