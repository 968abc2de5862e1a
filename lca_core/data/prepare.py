"""The training and validation datasets of a run: load, validate, then split or read ``valid_path``."""

from __future__ import annotations

from lca_core.api.errors import ConfigError, ConfigProblem
from lca_core.data.loading import load_datapoints
from lca_core.data.split import train_test_split


def prepare_datasets(config):
    """(train, valid | None) as the run file's [data] and [split] say."""
    train = load_datapoints(config)
    _check_not_empty(train, "data.path", config.data.path, config)
    if config.data.valid_path:
        valid = load_datapoints(config, path=config.data.valid_path, key="data.valid_path")
        _check_not_empty(valid, "data.valid_path", config.data.valid_path, config)
        return train, valid
    split = config.split
    if split.valid_size < 0:
        raise ConfigError([ConfigProblem("split.valid_size", "must be 0 (no validation) or a positive count")])
    if split.valid_size and split.max_per_repo < 1:
        raise ConfigError([ConfigProblem("split.max_per_repo", "must be at least 1 when valid_size > 0")])
    try:
        train, valid = train_test_split(train, split.valid_size, split.max_per_repo, split.seed, split.by)
    except ValueError as exc:
        one_repo = split.by == "repository" and len(set(train["repo"])) == 1
        raise ConfigError([ConfigProblem(
            "split.valid_size", f"{exc}; lower split.valid_size, raise split.max_per_repo, or set split.valid_size = 0"
            + ('; one repository: split.by = "commit" or "file" holds out part of it' if one_repo else ""),
        )], source=_source(config)) from None
    if not len(train):
        raise ConfigError([ConfigProblem(
            "split.valid_size", f"the training set is empty: split.valid_size = {split.valid_size} with "
            f"split.max_per_repo = {split.max_per_repo} (split.by = \"{split.by}\") holds out every datapoint; lower "
            "split.valid_size or split.max_per_repo"
            + (', or set split.by = "commit" or "file" to hold out part of a repository'
               if split.by == "repository" else ""),
        )], source=_source(config))
    return train, valid


def _check_not_empty(dataset, key: str, value: str, config) -> None:
    if not len(dataset):
        raise ConfigError([ConfigProblem(key, f"'{value}' holds no datapoints (after [data] limit and on_invalid); "
                                              "give a dataset with some")], source=_source(config))


def _source(config) -> str | None:
    source = getattr(config, "source", None)
    return str(source) if source else None
