"""Helpers shared by the verbs: the run-file argument and loading it with overrides."""

from __future__ import annotations

import argparse

from lca_core.config.schema import RunConfig


def add_run_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_file", metavar="RUN.toml", help="the run file")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, values as TOML literals")


def load(args: argparse.Namespace) -> RunConfig:
    from lca_core.config.loader import load_run_config
    from lca_core.data.loading import check_sources

    config = load_run_config(args.run_file, args.overrides)
    check_sources(config)  # a missing data file fails now, not after the model is built
    return config


def position_warning(config: RunConfig, model_config) -> str | None:
    """A warning when samples are longer than the positions the model was built or pretrained for."""
    limit = getattr(model_config, "max_position_embeddings", None)
    length = config.preprocessor.params.get("max_seq_len")
    if not isinstance(limit, int) or not isinstance(length, int) or length <= limit:
        return None
    return (f"{config.source}: preprocessor.max_seq_len = {length} exceeds the model's max_position_embeddings = "
            f"{limit} ({config.model.name_or_path}): positions past {limit} were never trained (rotary models "
            "degrade, learned position embeddings fail); lower preprocessor.max_seq_len"
            + (" or raise model.config.max_position_embeddings" if config.model.random_init else ""))
