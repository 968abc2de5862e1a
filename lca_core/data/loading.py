"""Loading datapoints through Hugging Face `datasets`: the hub, local files and folders, the embedded set.

``[data] path`` is one of:

- ``"embedded"``: the small default dataset built from Python sources installed here (`embedded`);
- a local ``.jsonl`` / ``.json`` / ``.parquet`` file, a folder of them, or a ``save_to_disk`` folder
  (relative paths are relative to the run file);
- a hub dataset ``owner/name``, e.g. ``JetBrains-Research/lca-project-level-code-completion`` with
  ``name = "medium_context"`` (split ``test``) or ``JetBrains-Research/lca-codegen-train``
  (``data_dir = "train"``). When the hub is off or unreachable the cache is tried once and a missing
  dataset fails at once with what to do, instead of a minute of retries.

`load_datapoints` validates every datapoint ([data] on_invalid) and returns the exact LCA features.
"""

from __future__ import annotations

import re
from pathlib import Path

from lca_core.api.errors import ConfigError, ConfigProblem, RunError, suggestion

LCA_BENCHMARK = "JetBrains-Research/lca-project-level-code-completion"
LCA_BENCHMARK_CONFIGS = ("small_context", "medium_context", "large_context", "huge_context")
LCA_TRAIN = "JetBrains-Research/lca-codegen-train"
#: local file suffix -> `datasets` packaged builder
LOCAL_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
SAVE_TO_DISK_MARKERS = ("state.json", "dataset_dict.json")
HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def load_datapoints(config, *, path: str | None = None, key: str = "data.path"):
    """The validated datapoints of ``[data] path`` (or ``path``), with exactly the LCA features."""
    from lca_core.data.validation import validate_dataset

    data = config.data
    value = data.path if path is None else path
    dataset = load_source(config, value, key)
    if data.limit and path is None:
        dataset = dataset.select(range(min(data.limit, len(dataset))))
    dataset = validate_dataset(dataset, data.on_invalid, source=f"{key} = '{value}'")
    return conform(dataset)


def load_source(config, value: str, key: str = "data.path"):
    """The raw `datasets.Dataset` behind a ``[data] path`` value; nothing is validated yet."""
    kind, path = locate_source(config, value, key)
    if kind == "embedded":
        from lca_core.data.embedded import embedded_dataset_path

        return load_local(embedded_dataset_path(), key, config.data)
    if kind == "local":
        return load_local(path, key, config.data)
    return load_hub(value, config.data, key)


def locate_source(config, value: str, key: str = "data.path") -> tuple[str, Path | None]:
    """("embedded" | "local" | "hub", resolved local path or None) of a ``[data]`` path value; a local path
    that does not exist is a configuration error naming the key and the resolved path. Cheap: no
    `datasets` import, so every verb checks it right after reading the run file."""
    if value == "embedded":
        return "embedded", None
    if not value:
        raise ConfigError([ConfigProblem(key, 'is empty: give a file, a folder, a hub dataset or "embedded"')])
    path = config.resolve_path(value)
    if path.exists():
        return "local", path
    if HUB_NAME.match(value) and path.suffix not in LOCAL_BUILDERS:
        return "hub", None
    raise ConfigError([ConfigProblem(
        key, f"'{value}' does not exist (looked for {path.absolute()}); give an existing .jsonl/.json/.parquet file or "
             f'folder (relative to the run file), a hub dataset like \'{LCA_BENCHMARK}\', or "embedded"',
    )])


def check_sources(config) -> None:
    """Fail at once, before any model or data work, when ``[data] path`` / ``valid_path`` name a missing file."""
    problems = []
    for key, value in (("data.path", config.data.path), ("data.valid_path", config.data.valid_path)):
        if key == "data.valid_path" and not value:
            continue
        try:
            locate_source(config, value, key)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems, source=str(config.source) if config.source else None)


def conform(dataset):
    """Cast the LCA columns to the exact features (JSON infers int64 everywhere); other columns are kept."""
    from datasets import Features

    from lca_core.data.schema import lca_features

    features = lca_features()
    if all(dataset.features.get(k) == v for k, v in features.items()):
        return dataset
    return dataset.cast(Features({**dataset.features, **features}))


def load_local(path: Path, key: str, data=None):
    """A local file, a folder of files, or a ``save_to_disk`` folder, read by `datasets`."""
    import datasets

    cache_dir = data.cache_dir or None if data is not None else None
    if path.is_dir() and any((path / marker).exists() for marker in SAVE_TO_DISK_MARKERS):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            split = (data.split if data is not None else "") or ("train" if "train" in loaded else "")
            if split not in loaded:
                raise ConfigError([ConfigProblem(
                    "data.split", f"'{path}' holds splits {', '.join(loaded)}; choose one with [data] split"
                                  + suggestion(split, loaded))])
            loaded = loaded[split]
        return loaded
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_BUILDERS and p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise ConfigError([ConfigProblem(key, f"folder '{path}' holds no .jsonl, .json or .parquet files")])
    else:
        if path.suffix not in LOCAL_BUILDERS:
            raise ConfigError([ConfigProblem(
                key, f"'{path.name}' is not a .jsonl, .json or .parquet file (nor a folder of them)")])
        files = [path]
    if all(p.stat().st_size == 0 for p in files):  # `datasets` would fail with a bare StopIteration
        raise ConfigError([ConfigProblem(key, f"'{path}' is empty: it holds no datapoints; give a dataset with some")])
    builders = {LOCAL_BUILDERS[p.suffix] for p in files}
    if len(builders) > 1:
        raise ConfigError([ConfigProblem(key, f"folder '{path}' mixes JSON and parquet files; keep one format")])
    try:
        return datasets.load_dataset(builders.pop(), data_files=[str(p) for p in files], split="train",
                                     cache_dir=cache_dir)
    except Exception as exc:  # the file is the user's: say which one and why, without a traceback
        where = next(filter(None, (_first_bad_json_line(p) for p in files if p.suffix == ".jsonl")), "")
        raise RunError(f"{key}: cannot read '{path}' as a dataset{where}: {type(exc).__name__}: {exc}") from None


def _first_bad_json_line(path: Path) -> str:
    """Where a JSON Lines file stops being JSON (' (file F, line N = datapoint N-1)'), or '' if every line parses."""
    import json

    index = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError as exc:
                return f" (file {path.name}, line {number} = datapoint {index}: {exc.msg})"
            index += 1
    return ""


def hub_arguments(name: str, data) -> dict:
    """`load_dataset` keyword arguments for a hub dataset, with the LCA datasets' defaults checked."""
    config_name, data_dir, split = data.name, data.data_dir, data.split
    if name == LCA_BENCHMARK:
        if config_name not in LCA_BENCHMARK_CONFIGS:
            what = f"'{config_name}' is not one of its configurations" if config_name else "needs a configuration"
            raise ConfigError([ConfigProblem(
                "data.name", f"{LCA_BENCHMARK} {what}: {', '.join(LCA_BENCHMARK_CONFIGS)}"
                             + suggestion(config_name, LCA_BENCHMARK_CONFIGS))])
        split = split or "test"
    elif name == LCA_TRAIN:
        data_dir = data_dir or "train"
    kwargs = {"path": name, "name": config_name or None, "data_dir": data_dir or None,
              "split": split or "train", "revision": data.revision or None, "cache_dir": data.cache_dir or None}
    return kwargs


def load_hub(name: str, data, key: str = "data.path"):
    """A hub dataset; with the hub off or unreachable only the local cache is read, and a miss fails fast."""
    kwargs = hub_arguments(name, data)
    import datasets

    from lca_core.hub import check_hub

    reason = check_hub()
    try:
        return datasets.load_dataset(**kwargs)
    except Exception as exc:
        what = f"{name}" + (f" ({kwargs['name']})" if kwargs["name"] else "") + f", split {kwargs['split']}"
        if reason:
            raise RunError(
                f"{key}: hub dataset {what} is not in the local cache, and the hub is not used because {reason}. "
                "Run once with network access (unset HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) to cache it, or "
                "point data.path at a local copy (.parquet/.jsonl, or `lca-run dataset build`)."
            ) from None
        raise RunError(f"{key}: cannot load hub dataset {what}: {type(exc).__name__}: {exc}") from None
