"""The files `lca-run plugin new` writes: a package with one component of a kind, its test and a README.

Each kind's component is a small working example of that kind's contract (docs/plugins.md), ready
to be edited; its test runs the contract on real datapoints (`lca_core.api.testing`) and checks
through the real ``lca-run`` that the installed plugin is listed.
"""

from __future__ import annotations

from string import Template

import attrs


@attrs.frozen
class Names:
    """``my-ranker`` -> distribution lca-my-ranker, package lca_my_ranker, component my_ranker, class MyRanker."""

    distribution: str
    package: str
    component: str
    cls: str

    @classmethod
    def of(cls, name: str) -> "Names":
        component = name.replace("-", "_")
        return cls(f"lca-{name.replace('_', '-')}", f"lca_{component}", component,
                   "".join(part.capitalize() for part in component.split("_")))


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "The $component $kind for lca-pipeline."
requires-python = ">=3.10"
dependencies = ["lca-pipeline"]

[project.optional-dependencies]
test = ["pytest"]

# The whole integration with lca-pipeline: one entry point in the group "lca".
[project.entry-points.lca]
$component = "$package"

[tool.setuptools]
packages = ["$package"]
"""

INIT = '''\
"""$distribution: registers the $component $kind (this module stays light: no heavy imports)."""

import lca_core


@lca_core.hookimpl
def lca_register_${kind}s(register):
    # A lazy "module:Class" string: imported only when a run selects the $kind.
    register("$component", "$package.component:$cls",
             description="$summary")
'''

README = """\
# $distribution

The `$component` $kind for [lca-pipeline](https://github.com/JetBrains-Research/lca-solvers): $summary.

## Develop

- `pip install -e .` — an editable install: code edits count at once; reinstall only after editing
  `pyproject.toml` (a new entry point, name or version)
- `lca-run list ${kind}s --check` — shows `$component` from `$distribution 0.1.0`, checked
- `lca-run describe $component` — its parameters, types and defaults
- `pytest tests` — the lca contract on real datapoints, and the listing through `lca-run`

## Use

```toml
[$table]
$usage
```

`$package/component.py` holds the $kind; docs/plugins.md of lca-pipeline states the contract of
every kind (arguments, return values, ordering) and what `lca_core.api.testing` offers.
"""

LISTED_TEST = '''

def test_listed_by_lca_run():
    lca_run = Path(sys.executable).with_name("lca-run")
    out = subprocess.run([str(lca_run), "list", "${kind}s", "--check"], capture_output=True, text=True,
                         check=True).stdout
    line = next(line for line in out.splitlines() if line.split()[:1] == ["$component"])
    assert "$distribution" in line and "BROKEN" not in line, line
'''

TEST_HEAD = '''\
"""$distribution's tests: the $kind directly, then through the real console script."""

import subprocess
import sys
from pathlib import Path

'''

#: kind -> (summary, component module, test body, run-file table, run-file usage lines)
KINDS: dict[str, tuple[str, str, str, str, str]] = {
    "composer": (
        "snapshot files sharing the completion file's extension nearest, shorter first",
        '''\
"""``$component``: a context composer. Edit ``ranking_function`` (or override ``rank_chunks``)."""

import posixpath

import attrs

from lca_core.api.components import param
from lca_core.composing.composers import Chunk, RankingComposer


@attrs.define(kw_only=True)
class $cls(RankingComposer):
    """Snapshot files sharing the completion file's extension nearest, shorter first.

    RankingComposer sorts chunks by their key, ascending, so the highest key is placed last, right before
    the completion: truncation cuts the context from the left, so the nearest chunk survives it.
    """

    prefer_short: bool = param(True, doc="Among equals, put shorter files nearer the completion.")

    def ranking_function(self, chunk: Chunk, datapoint: dict) -> tuple[bool, int]:
        # chunk.filename, chunk.content: one snapshot file (the completion file is already left out).
        # datapoint: a dict in the LCA schema (completion_file = {"filename", "content"}, repo_snapshot, ...).
        target = datapoint["completion_file"]["filename"]
        same_extension = posixpath.splitext(chunk.filename)[1] == posixpath.splitext(target)[1]
        size = len(chunk.content)
        return (same_extension, -size if self.prefer_short else size)  # higher = nearer the completion
''',
        '''\
from lca_core.api.components import build_params
from lca_core.api.testing import check_composer_contract, sample_datapoints
from $package.component import $cls

DATAPOINTS = sample_datapoints(4)  # real LCA-schema datapoints built from installed Python packages


def test_keeps_the_composer_contract():
    check_composer_contract($cls(), DATAPOINTS)
    check_composer_contract($cls(prefer_short=False), DATAPOINTS)


def test_run_file_parameters_are_checked():
    _, problems = build_params($cls, {"prefer_shrt": True}, "composer")
    assert "did you mean 'prefer_short'?" in problems[0].message
''',
        "composer", 'name = "$component"\nprefer_short = true'),
    "block": (
        "a file filter keeping files up to max_lines lines",
        '''\
"""``$component``: a chained-composer block (a file filter). Edit ``keep``."""

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.composing.blocks import FileFilterBlock
from lca_core.composing.composers import File


@attrs.define(kw_only=True)
class $cls(FileFilterBlock):
    """Keeps files of at most ``max_lines`` lines."""

    max_lines: int = param(400, doc="Longest file kept, in lines.")

    def __attrs_post_init__(self) -> None:
        if self.max_lines < 1:
            raise ParamError("max_lines", f"must be at least 1, got {self.max_lines}")

    def keep(self, file: File, datapoint: dict) -> bool:
        return file.content.count("\\n") + 1 <= self.max_lines
''',
        '''\
from lca_core.api.testing import sample_datapoints
from lca_core.composing.composers import snapshot_files
from $package.component import $cls


def test_keeps_only_short_files():
    datapoint = sample_datapoints(1)[0]
    files = snapshot_files(datapoint)
    kept = $cls(max_lines=50).apply(files, datapoint)
    assert kept and all(file.content.count("\\n") < 50 for file in kept)
''',
        "composer", 'name = "chained"\nblocks = [\n  {name = "$component", max_lines = 200},\n'
                    '  {name = "file_grained_chunker"},\n  {name = "negative_path_distance_ranker"},\n'
                    '  {name = "lexicographic_sorter"},\n  {name = "path_comment_harvester"},\n]'),
    "preprocessor": (
        "[BOS] + the completion file, the loss on every completion token",
        '''\
"""``$component``: a preprocessor. Edit ``layout``: which tokens the model sees and what the loss covers."""

from collections.abc import Mapping
from typing import Any

import attrs

from lca_core.composing.preprocessing import PreprocessorBase, SampleLayout, Span, token_categories


@attrs.define(kw_only=True)
class $cls(PreprocessorBase):
    """[BOS] + the completion file's first max_seq_len tokens; the loss covers every completion token."""

    @property
    def pads(self) -> bool:
        return True  # samples differ in length: right-pad, with an attention mask

    def layout(self, sample: Mapping[str, Any]) -> SampleLayout:
        text = sample["composed_completion"]
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = encoded["input_ids"][: self.max_seq_len]
        offsets = encoded["offset_mapping"][: len(ids)]
        end = offsets[-1][1] if offsets else 0
        spans = [Span("bos", [self.tokenizer.bos_token_id]), Span("completion", ids, "composed_completion", 0, end)]
        # targets are the ids shifted by one: here every target is a completion token
        return SampleLayout(spans, loss_tokens=len(ids), completion_tokens=len(ids),
                            completion_categories=token_categories(text, offsets, sample["completion_lines"]))
''',
        '''\
from lca_core.api.components import Runtime
from lca_core.api.testing import sample_datapoints
from lca_core.composing.composers import GrainedComposer
from lca_core.models.local_tokenizer import build_local_tokenizer
from $package.component import $cls


def test_tensors_follow_the_contract(tmp_path):
    datapoints = sample_datapoints(2)
    tokenizer = build_local_tokenizer([dp["completion_file"]["content"] for dp in datapoints] * 5, tmp_path,
                                      vocab_size=400)
    preprocessor = $cls(max_seq_len=64)
    preprocessor.setup(Runtime(tokenizer=tokenizer))
    batch = preprocessor([GrainedComposer().compose(dp) for dp in datapoints])
    assert batch["input_ids"].shape == batch["target_ids"].shape == batch["loss_mask"].shape
    assert batch["input_ids"].shape[0] == 2 and batch["input_ids"].shape[1] <= 64
    assert (batch["loss_mask"] <= batch["attention_mask"]).all()
    assert ((batch["category_ids"] >= 0) <= batch["completion_mask"]).all()
''',
        "preprocessor", 'name = "$component"\nmax_seq_len = 2048'),
    "scheduler": (
        "the peak learning rate, multiplied by factor every `every` steps",
        '''\
"""``$component``: a learning-rate schedule, a stateless function of the iteration. Edit ``lr``."""

import attrs

from lca_core.api.components import param
from lca_core.api.errors import ParamError
from lca_core.api.schedulers import SchedulerBase


@attrs.define(kw_only=True)
class $cls(SchedulerBase):
    """max_lr · factor^(iteration // every); self.max_iters is [trainer] max_iters."""

    every: int = param(100, doc="Steps between decays.")
    factor: float = param(0.5, doc="What each decay multiplies the rate by.")

    def __attrs_post_init__(self) -> None:
        if self.every < 1:
            raise ParamError("every", f"must be at least 1, got {self.every}")

    def lr(self, iteration: int, max_lr: float) -> float:
        return max_lr * self.factor ** (iteration // self.every)
''',
        '''\
from $package.component import $cls


def test_decays_every_few_steps():
    assert [$cls(every=2).lr(i, 1.0) for i in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
''',
        "scheduler", 'name = "$component"\nevery = 100'),
    "logger": (
        "every metrics row as one JSON line in <run dir>/logs/",
        '''\
"""``$component``: a logger. The trainer calls setup → start → log/message … → finish (rank 0 only)."""

import json
from typing import Any

import attrs

from lca_core.api.components import Runtime, param
from lca_core.api.loggers import LoggerBase


@attrs.define(kw_only=True)
class $cls(LoggerBase):
    """Appends {"split", "iteration", metrics...} lines to <run dir>/logs/<file_name>."""

    file_name: str = param("$component.jsonl", doc="File name under <run dir>/logs/.")
    _path: Any = attrs.field(default=None, init=False, eq=False, repr=False)

    def setup(self, runtime: Runtime) -> None:
        self._path = runtime.run_dir / "logs" / self.file_name

    def start(self, *, resumed_from: int | None, state: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, split: str, iteration: int, metrics: dict[str, float]) -> None:
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"split": split, "iteration": iteration, **metrics}) + "\\n")
''',
        '''\
import json

from lca_core.api.components import Runtime
from $package.component import $cls


def test_writes_one_line_per_row(tmp_path):
    logger = $cls()
    logger.setup(Runtime(run_dir=tmp_path))
    logger.start(resumed_from=None, state={})
    logger.log("train", 1, {"loss": 2.5})
    logger.finish("completed")
    rows = [json.loads(line) for line in (tmp_path / "logs" / "$component.jsonl").read_text().splitlines()]
    assert rows == [{"split": "train", "iteration": 1, "loss": 2.5}]
''',
        "logger", 'name = "$component"'),
}


def skeleton(names: Names, kind: str) -> dict[str, str]:
    """Relative path -> text of every file of the package."""
    summary, component, test, table, usage = KINDS[kind]
    values = {"distribution": names.distribution, "package": names.package, "component": names.component,
              "cls": names.cls, "kind": kind, "summary": summary, "table": table}
    values["usage"] = Template(usage).substitute(values)

    def fill(text: str) -> str:
        return Template(text).substitute(values)

    return {
        "pyproject.toml": fill(PYPROJECT),
        f"{names.package}/__init__.py": fill(INIT),
        f"{names.package}/component.py": fill(component),
        f"tests/test_{names.component}.py": fill(TEST_HEAD + test + LISTED_TEST),
        "README.md": fill(README),
    }
