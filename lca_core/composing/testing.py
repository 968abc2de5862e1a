"""Contract tests a plugin author runs against their own composer (the built-ins pass the same ones).

    from lca_core.composing.testing import check_composer_contract

    def test_my_composer_keeps_the_contract():
        check_composer_contract(MyComposer, datapoints)   # raises AssertionError with the reason

``datapoints`` are exact-schema LCA datapoints (dicts); `sample_datapoints` gives a few real ones with
realistic snapshots, built from Python packages installed with lca-pipeline (no network, no files).
"""

from __future__ import annotations

import copy
import pickle
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from lca_core.api.components import Runtime
from lca_core.composing.composers import COMPOSED_KEYS


def sample_datapoints(count: int = 4) -> list[dict]:
    """``count`` exact-schema LCA datapoints, built the way the embedded dataset (``[data] path =
    "embedded"``) is: each installed package among lca-pipeline's own dependencies (attrs, cattrs,
    pluggy, ...) is a repository, one of its ``.py`` files the completion file, the rest its snapshot.

    Taken from the packages in turn, so a handful spans several repositories; the same for the same
    installed packages (seeded), and built in memory without touching the dataset cache.
    """
    import itertools

    from lca_core.data.build.builder import BuildOptions, DirectorySource, datapoints_of
    from lca_core.data.embedded import package_dirs

    streams = [datapoints_of(DirectorySource(path, BuildOptions(
        per_repo=count, repo_name=f"site-packages__{name}", progress=False, max_snapshot_bytes=2_000_000),
        prefix=name)) for name, path in package_dirs()]
    found = [dp for group in itertools.zip_longest(*streams) for dp in group if dp is not None]
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} sample datapoints could be built from the installed packages")
    return found[:count]


def leaky_variant(datapoint: dict, token: str) -> dict:
    """``datapoint`` with a canary appended to its completion file, and that file put into its snapshot
    twice: under its own path and as a byte-identical copy elsewhere. A leak-free composer shows
    ``token`` nowhere in the context."""
    canary = "".join(
        f"\n\ndef {token}_{i}():\n    return \"{token}\"  # {token}\n" for i in range(8)
    )
    leaky = copy.deepcopy(datapoint)
    target = leaky["completion_file"]
    target["content"] = target["content"] + canary
    name = target["filename"]
    leaky["repo_snapshot"]["filename"] += [name, f"copy_of_completion/{name.rsplit('/', 1)[-1]}"]
    leaky["repo_snapshot"]["content"] += [target["content"], target["content"]]
    return leaky


def _check_composed(name: str, out: Any, datapoint: dict) -> None:
    assert isinstance(out, Mapping) and set(out) == set(COMPOSED_KEYS), (
        f"{name}.compose must return a Composed (or a dict) with exactly {sorted(COMPOSED_KEYS)}, got "
        f"{sorted(out) if isinstance(out, Mapping) else type(out).__name__}")
    for key in ("pre_context_prompt", "composed_context", "composed_completion"):
        assert isinstance(out[key], str), f"{name}: {key} must be a str, got {type(out[key]).__name__}"
    completion = out["composed_completion"]
    assert completion.endswith("\n"), f"{name}: composed_completion must end with a newline"
    lines = out["completion_lines"]
    assert isinstance(lines, dict), f"{name}: completion_lines must be a dict of category -> line indices"
    composed_lines = completion.split("\n")
    original_lines = datapoint["completion_file"]["content"].split("\n")
    for category, indices in lines.items():
        assert all(isinstance(i, int) and 0 <= i < len(composed_lines) for i in indices), (
            f"{name}: completion_lines[{category!r}] has indices outside composed_completion: {indices}")
        if category == "random":  # may be recomputed
            continue
        source = sorted(datapoint["completion_lines"].get(category, []))
        shown = [composed_lines[i] for i in sorted(indices)]
        expected = [original_lines[i] for i in source]
        assert shown == expected, (
            f"{name}: completion_lines[{category!r}] must point at the same lines of composed_completion "
            f"as the datapoint's indices point at in the completion file")


def check_composer_contract(composer: Any, datapoints: Iterable[dict], *, runtime: Runtime | None = None) -> None:
    """Assert that ``composer`` (an instance, or a class built with its defaults) keeps the composer contract.

    Checked on every datapoint: the four output keys and their types; a completion that ends with a
    newline and line categories that point at the same lines after the path-comment shift; the
    datapoint left unmodified; the same output twice, through ``compose_batch`` and after a pickle
    round trip (``datasets`` workers and cache fingerprints need both); and leak-freedom: with the
    completion file planted in the snapshot (own path and a copy), none of it reaches the context.
    """
    if isinstance(composer, type):
        composer = composer()
        composer.setup(runtime or Runtime())
    name = type(composer).__name__
    datapoints = list(datapoints)
    assert datapoints, "check_composer_contract needs at least one datapoint"
    revived = pickle.loads(pickle.dumps(composer))
    for index, datapoint in enumerate(datapoints):
        where = f"{name} (datapoint {index})"
        before = copy.deepcopy(datapoint)
        out = composer.compose(datapoint)
        assert datapoint == before, f"{where}: compose must not modify the datapoint it is given"
        _check_composed(where, out, datapoint)
        assert composer.compose(datapoint) == out, f"{where}: compose must be deterministic"
        assert revived.compose(datapoint) == out, f"{where}: a pickled and restored composer composes differently"

        token = f"lca_leak_canary_{uuid.uuid4().hex[:12]}"
        leaky = leaky_variant(datapoint, token)
        leaked = composer.compose(leaky)
        assert token not in leaked["pre_context_prompt"] + leaked["composed_context"], (
            f"{where}: the completion file's own content leaked into the context; drop the completion file "
            "(and byte-identical copies) from the snapshot, e.g. with lca_core.composing.composers.snapshot_files")
        assert token in leaked["composed_completion"], f"{where}: the completion must hold the whole completion file"

    batch = {key: [dp[key] for dp in datapoints] for key in datapoints[0]}
    assert composer.compose_batch(batch) == [composer.compose(dp) for dp in datapoints], (
        f"{name}: compose_batch(columns) must equal compose() of each row")
