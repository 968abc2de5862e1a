"""Helpers shared by the verbs: the run-file argument and loading it with overrides."""

from __future__ import annotations

import argparse

from lca_core.config.schema import RunConfig


def add_run_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_file", metavar="RUN.toml", help="the run file")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, values as TOML literals")


def load(args: argparse.Namespace) -> RunConfig:
    from lca_core.config.loader import load_run_config

    return load_run_config(args.run_file, args.overrides)
