"""Repository-disjoint train/validation split, with the original pipeline's exact semantics.

1. ``valid_size == 0`` means no validation: ``(dataset, None)``.
2. A ``random.Random(seed)`` shuffles the (index, repo) pairs; they are grouped by repository, each
   group keeping that shuffled order, and then the groups themselves are shuffled.
3. Groups are popped from the end: every index of a popped repository leaves the training set, and its
   first ``min(max_per_repo, still needed)`` indices go to validation. A validation repository's
   remaining datapoints are discarded, so no repository is on both sides.
4. It stops at exactly ``valid_size``; running out of repositories raises ``ValueError``.

``by`` (``[split] by``) chooses the group: ``repository`` (the original), or — for a dataset of one or a
few repositories — ``commit`` (a repository's commit) or ``file`` (a repository's completion-file path).
These two keep validation apart only at that level: the held-out files can still appear in training
datapoints' snapshots (docs/data.md, "Splitting one repository").
"""

from __future__ import annotations

import random
from collections.abc import Sequence


#: [split] by -> (one group, several) in messages
GROUPS = {"repository": ("repository", "repositories"), "commit": ("commit", "commits"), "file": ("file", "files")}


def split_indices(repos: Sequence[str], valid_size: int, max_per_repo: int, seed: int,
                  unit: tuple[str, str] = GROUPS["repository"]) -> tuple[list[int], list[int]]:
    """(train indices in dataset order, validation indices in the order drawn); ``repos`` are the group keys."""
    if valid_size < 0 or max_per_repo < 1:
        raise ValueError(f"valid_size must be >= 0 and max_per_repo >= 1, got {valid_size} and {max_per_repo}")
    if valid_size == 0:
        return list(range(len(repos))), []
    rng = random.Random(seed)
    pairs = list(enumerate(repos))
    rng.shuffle(pairs)
    groups: dict[str, list[int]] = {}
    for index, repo in pairs:
        groups.setdefault(repo, []).append(index)
    order = list(groups.values())
    rng.shuffle(order)
    held_out: set[int] = set()
    valid: list[int] = []
    while len(valid) < valid_size:
        if not order:
            raise ValueError(
                f"cannot hold out {valid_size} validation datapoints with at most {max_per_repo} per "
                f"{unit[0]}: {len(groups)} {unit[1]} give only {len(valid)}"
            )
        group = order.pop()
        held_out.update(group)
        valid.extend(group[: min(max_per_repo, valid_size - len(valid))])
    train = [i for i in range(len(repos)) if i not in held_out]
    return train, valid


def train_test_split(dataset, valid_size: int, max_per_repo: int, seed: int, by: str = "repository"):
    """(train, valid) `datasets.Dataset`s, or (dataset, None) when ``valid_size == 0``."""
    if valid_size == 0:
        return dataset, None
    train, valid = split_indices(group_keys(dataset, by), valid_size, max_per_repo, seed, GROUPS[by])
    return dataset.select(train), dataset.select(valid)


def group_keys(dataset, by: str) -> list[str]:
    """One key per datapoint: its repository, (repository, commit) or (repository, completion-file path)."""
    repos = dataset["repo"]
    if by == "repository":
        return repos
    if by == "commit":
        return [f"{repo}@{commit}" for repo, commit in zip(repos, dataset["commit_hash"])]
    return [f"{repo}:{file['filename']}" for repo, file in zip(repos, dataset["completion_file"])]
