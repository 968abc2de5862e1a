"""The embedded default dataset: LCA datapoints built from Python packages installed on this machine.

``[data] path = "embedded"`` needs no download: the sources of a few installed pure-Python packages
(each one a "repository", so the split has repositories to hold out) are turned into datapoints by
the plain-directory builder, deterministically for a given environment, and cached as parquet under
``$LCA_CACHE`` (default ``~/.cache/lca-pipeline``). No third-party source is stored in this project.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from lca_core.api.errors import RunError

#: importable packages used when installed, in this order (lca-pipeline's own dependencies come first)
PACKAGES = ("attr", "cattrs", "pluggy", "tqdm", "click", "packaging", "jinja2", "idna")
#: how many of them, and how many datapoints each, at most
MAX_REPOSITORIES = 6
PER_REPO = 10
#: bump when the builder's output for the same sources changes
VERSION = 1


def cache_dir() -> Path:
    return Path(os.environ.get("LCA_CACHE") or Path.home() / ".cache" / "lca-pipeline").expanduser()


def package_dirs() -> list[tuple[str, Path]]:
    """(package, source directory) of the installed packages that will be used."""
    out = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if locations and Path(locations[0]).is_dir():
            out.append((name, Path(locations[0])))
        if len(out) == MAX_REPOSITORIES:
            break
    return out


def _fingerprint(dirs: list[tuple[str, Path]]) -> str:
    """Changes when any source file (path, size, mtime) or the builder version changes."""
    digest = hashlib.sha256(f"v{VERSION}:{PER_REPO}".encode())
    for name, path in dirs:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                stat = file.stat()
                digest.update(f"{name}:{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def embedded_dataset_path() -> Path:
    """The cached parquet file of the embedded dataset, built first if needed."""
    from lca_core.data.build.builder import BuildOptions, DirectorySource, datapoints_of
    from lca_core.data.build.writer import write_datapoints

    dirs = package_dirs()
    if len(dirs) < 2:
        raise RunError(f"the embedded dataset needs at least 2 of these installed packages: {', '.join(PACKAGES)}; "
                       "set [data] path to a dataset file instead")
    out = cache_dir() / "embedded" / f"embedded-{_fingerprint(dirs)}.parquet"
    if out.exists():
        return out

    def datapoints():
        for name, path in dirs:
            options = BuildOptions(per_repo=PER_REPO, repo_name=f"site-packages__{name}", progress=False,
                                   max_snapshot_bytes=2_000_000)
            yield from datapoints_of(DirectorySource(path, options, prefix=name))

    count = write_datapoints(datapoints(), out)
    (out.with_suffix(".json")).write_text(json.dumps(
        {"datapoints": count, "packages": {name: str(path) for name, path in dirs}}, indent=1), encoding="utf-8")
    return out
