"""[data] and [split]: where datapoints come from and how validation is held out."""

from __future__ import annotations

from typing import Literal

import attrs

from lca_core.api.components import param
from lca_core.api import checks


@attrs.define(kw_only=True)
class DataSection:
    """[data]: a hub dataset (+ config and split) or local files (jsonl/json/parquet, a folder, save_to_disk)."""

    path: str = param(doc="Hub dataset name, or a local file or directory (relative to the run file).",
                      validator=checks.path_text)
    name: str = param("", doc="Hub configuration, e.g. medium_context.")
    data_dir: str = param("", doc="Subdirectory of the hub dataset, e.g. train for lca-codegen-train.")
    split: str = param("", doc="Split to read; default: test for the LCA benchmark, train otherwise.")
    revision: str = param("", doc="Hub revision (branch, tag or commit).")
    cache_dir: str = param("", doc="Cache directory for `datasets`; default: its own.", validator=checks.path_text)
    valid_path: str = param("", doc="A separate validation file; when set, [split] is not used.",
                            validator=checks.path_text)
    on_invalid: Literal["fail", "skip"] = param("fail", doc="What a malformed datapoint does: stop the run, or be skipped (and counted).")
    limit: int = param(0, doc="Use only the first N datapoints (0 = all).", validator=checks.at_least(0))


@attrs.define(kw_only=True)
class SplitSection:
    """[split]: the original's repository-disjoint train/validation split."""

    valid_size: int = param(128, doc="Validation datapoints (0 = no validation).", validator=checks.at_least(0))
    max_per_repo: int = param(5, doc="At most this many validation datapoints per repository (per group of `by`).")
    by: Literal["repository", "commit", "file"] = param(
        "repository", doc="What validation holds out whole: repositories (the original), or, for one or a few "
        "repositories, commits or completion-file paths (held-out files may still appear in training snapshots; "
        "docs/data.md)."
    )
    seed: int = param(1337, doc="Seed of the split.", validator=checks.seed)
