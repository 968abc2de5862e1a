"""The training and validation datasets of a run: load, validate, then split or read ``valid_path``."""

from __future__ import annotations

from lca_core.api.errors import ConfigError, ConfigProblem
from lca_core.data.loading import load_datapoints
from lca_core.data.split import train_test_split


def prepare_datasets(config):
    """(train, valid | None) as the run file's [data] and [split] say."""
    train = load_datapoints(config)
    if config.data.valid_path:
        valid = load_datapoints(config, path=config.data.valid_path, key="data.valid_path")
        return train, valid
    split = config.split
    if split.valid_size < 0:
        raise ConfigError([ConfigProblem("split.valid_size", "must be 0 (no validation) or a positive count")])
    if split.valid_size and split.max_per_repo < 1:
        raise ConfigError([ConfigProblem("split.max_per_repo", "must be at least 1 when valid_size > 0")])
    try:
        return train_test_split(train, split.valid_size, split.max_per_repo, split.seed)
    except ValueError as exc:
        raise ConfigError([ConfigProblem(
            "split.valid_size", f"{exc}; lower split.valid_size, raise split.max_per_repo, or set split.valid_size = 0",
        )]) from None
