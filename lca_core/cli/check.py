"""``lca-run check RUN.toml``: validate, build every component, compose and preprocess one datapoint."""

from __future__ import annotations

import argparse

from lca_core.cli.common import add_run_file, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_file(parser)


def run(args: argparse.Namespace) -> int:
    config = load(args)
    print(f"run file: {config.source} — valid")
    print(f"run '{config.run_name}' → {config.run_dir}")
    for kind in ("composer", "preprocessor", "scheduler", "logger"):
        component = getattr(config, kind)
        print(f"  {kind:<13} {component.name}  {component.params}")
    return 0
