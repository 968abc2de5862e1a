"""Resuming a run whose configuration changed: only documented safe changes pass without ``--allow-changes``.

A checkpoint keeps the resolved configuration it was trained with (``config.toml``). Resuming compares
it, key by key, with the configuration of the command now: a changed learning rate, composer, sequence
length, seed, batch or dataset would continue the run as another experiment under the same name, with
curves and checkpoints that no longer describe one run. Such a resume is refused (exit 2, every changed
key listed) unless each changed key is in `SAFE_CHANGES` or the user passes ``--allow-changes``.
The training data is compared too, by a fingerprint of its datapoints (`data_fingerprint`): the same
file with other contents would resume at the old sampler position in a different stream.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from lca_core.errors import ConfigError, ConfigProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: dotted keys (or ``table.*``) that may change between a run and its resume: how long, how often to
#: validate, save and log, how fast and where — none of them changes what a step computes (beyond
#: floating-point rounding: a run may resume on another machine, world size or strategy)
SAFE_CHANGES = (
    "trainer.max_iters",
    "trainer.valid_freq",
    "trainer.num_workers",
    "trainer.prefetch_factor",
    "trainer.cpu_threads",
    "trainer.on_nonfinite",
    "trainer.strategy",
    "trainer.loss_impl",
    "trainer.fp32_matmul_precision",
    "model.device",
    "model.compile",
    "model.attn_implementation",
    "model.gradient_checkpointing",
    "model.checkpoint_mlp",
    "checkpointing.freq",
    "checkpointing.top_k",
    "checkpointing.main_metric",
    "checkpointing.mode",
    "checkpointing.init_from",
    "logger.*",
    "run.name",
    "run.dir",
)
#: the key a change of the training datapoints is reported under
DATA_KEY = "data.path"


def is_safe(key: str) -> bool:
    return any(key == safe or (safe.endswith(".*") and key.startswith(safe[:-1])) for safe in SAFE_CHANGES)


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"trainer": {"max_iters": 5}}`` → ``{"trainer.max_iters": 5}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted key, value before, value after) for every key that differs; a missing key is ``None``."""
    old, new = flatten(before), flatten(after)
    return [(key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def check_resume(checkpoint: Path, config_text: str, *, allow_changes: bool) -> list[str]:
    """Refuse (ConfigError) to resume ``checkpoint`` under ``config_text`` when an unsafe key changed and
    ``allow_changes`` is off; return one line per change let through (for the run's log)."""
    from lca_core.training.checkpoint import CONFIG_FILE

    record = checkpoint / CONFIG_FILE
    if not record.exists():
        return []  # not a checkpoint of an lca-run run file: nothing to compare with
    before = tomllib.loads(record.read_text(encoding="utf-8"))
    return _judge(checkpoint, changed_keys(before, tomllib.loads(config_text)), allow_changes)


def check_data(checkpoint: Path, fingerprint: str | None, *, allow_changes: bool) -> list[str]:
    """The same for the training datapoints: refuse when their fingerprint differs from the checkpoint's."""
    old = _stored_fingerprint(checkpoint)
    if not old or not fingerprint or old == fingerprint:
        return []
    return _judge(checkpoint, [(DATA_KEY, _Shown(f"datapoints {old[:12]}…"),
                                         _Shown(f"other datapoints {fingerprint[:12]}…"))], allow_changes)


def _judge(checkpoint: Path, changes: list[tuple[str, Any, Any]], allow_changes: bool) -> list[str]:
    unsafe = [c for c in changes if not is_safe(c[0])]
    if unsafe and not allow_changes:
        problems = [ConfigProblem(key, f"{_show(old)} in checkpoint {checkpoint.name} → {_show(new)} now")
                    for key, old, new in unsafe]
        problems.append(ConfigProblem("", (
            f"resuming {checkpoint} with a changed configuration would continue this run as another experiment. "
            "Undo the change, start a new run (another run.name), or pass --allow-changes to resume anyway "
            "(the keys that may always change: " + ", ".join(SAFE_CHANGES) + "; docs/reliability.md)")))
        raise ConfigError(problems)
    return [f"{key}: {_show(old)} → {_show(new)}" for key, old, new in changes]


def data_fingerprint(data: Any) -> str | None:
    """A SHA-256 over the training datapoints' repository, commit and completion file (path and text), in order;
    None for data without those columns."""
    columns = getattr(data, "column_names", None) or []
    if not {"repo", "completion_file"} <= set(columns) or not hasattr(data, "with_format"):
        return None
    keep = [c for c in ("repo", "commit_hash", "completion_file") if c in columns]
    rows = data.with_format(None).select_columns(keep)  # no snapshots, no composer transform
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr((row.get("repo"), row.get("commit_hash"), row["completion_file"])).encode())
    return digest.hexdigest()


FINGERPRINT_FILE = "data.sha256"


def _stored_fingerprint(checkpoint: Path) -> str | None:
    try:
        return (checkpoint / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class _Shown(str):
    """A value shown as it is, without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
