"""From datapoints to batches: the lazy per-batch transform, or composing the whole dataset once.

Two paths, as the original and the paper used them:
- `make_transform` for ``datasets.Dataset.set_transform``: every micro-batch is composed and
  preprocessed when it is read (in DataLoader workers), nothing is stored;
- `precompose` runs the composer once over the dataset with ``datasets.map`` (several processes),
  cached under a fingerprint made from the dataset and the composer's parameters, so a second run
  with the same composer reads the cache instead of composing again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lca_core.composing.composers import COMPOSED_KEYS

#: the columns a composer adds; a precomposed dataset holds these
COMPOSED_COLUMNS = COMPOSED_KEYS
#: bump when the precomposed layout changes, so old caches are not read
PRECOMPOSE_VERSION = 1


def _rows(batch: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(batch)
    size = len(batch[keys[0]]) if keys else 0
    return [{key: batch[key][i] for key in keys} for i in range(size)]


class BatchTransform:
    """``set_transform`` function: a batch of datapoints (or precomposed rows) -> the preprocessor's tensors.

    A class rather than a closure so DataLoader workers can pickle it.
    """

    def __init__(self, composer: Any, preprocessor: Any):
        self.composer = composer
        self.preprocessor = preprocessor

    def __call__(self, batch: dict[str, list]) -> dict[str, Any]:
        if self.composer is None:
            composed = _rows({key: batch[key] for key in COMPOSED_COLUMNS})
        else:
            composed = self.composer.compose_batch(batch)
        return self.preprocessor(composed)


def make_transform(composer: Any, preprocessor: Any) -> BatchTransform:
    """The lazy path: ``dataset.set_transform(make_transform(composer, preprocessor))``.

    Pass ``composer=None`` for a dataset made by `precompose`.
    """
    return BatchTransform(composer, preprocessor)


class _ComposeBatch:
    def __init__(self, composer: Any):
        self.composer = composer

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        composed = self.composer.compose_batch(batch)
        return {key: [sample[key] for sample in composed] for key in COMPOSED_COLUMNS}


def composer_fingerprint(dataset: Any, composer: Any) -> str:
    """A fingerprint fixed by the dataset's own and the composer's class and parameters."""
    from lca_core.api.components import resolved_params

    cls = type(composer)
    key = json.dumps(
        {
            "version": PRECOMPOSE_VERSION,
            "dataset": dataset._fingerprint,
            "composer": f"{cls.__module__}.{cls.__qualname__}",
            "params": resolved_params(composer),
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def precompose(
    dataset: Any,
    composer: Any,
    num_proc: int = 1,
    cache_dir: str | Path = "",
    *,
    batch_size: int = 8,
    keep_columns: tuple[str, ...] = (),
) -> Any:
    """Compose every datapoint once; the result has the composed columns (plus ``keep_columns``).

    The fingerprint is explicit (`composer_fingerprint`), never a random hash, so the cache is
    found again. With ``cache_dir`` the cache files go there, else next to the dataset's own.
    """
    fingerprint = composer_fingerprint(dataset, composer)
    kwargs: dict[str, Any] = {}
    if cache_dir:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        kwargs["cache_file_name"] = str(Path(cache_dir) / f"precomposed-{fingerprint}.arrow")
    remove = [column for column in dataset.column_names if column not in keep_columns]
    return dataset.map(
        _ComposeBatch(composer),
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc if num_proc > 1 else None,
        remove_columns=remove,
        new_fingerprint=fingerprint,
        desc=f"composing with {type(composer).__name__}",
        **kwargs,
    )
