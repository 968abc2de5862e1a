"""A plugin that raises during a run — in a lifecycle hook or inside its component — stops the run with
the plugin's name and distribution, after saving what can be saved. (A plugin raising at import or in
its registration hook never stops the CLI: tests/core/test_plugins.py.)"""

from __future__ import annotations

import sys

import pytest

from lca_core.api.registry import Origin
from tests.faults.project import lca_run

PACKAGE = '''
"""lca-boom: a third-party plugin that fails when told to."""
from lca_core import hookimpl

RAISE_IN_HOOK_AT = 0
RAISE_ON_COMPOSE = 0
calls = [0]


@hookimpl
def lca_register_composers(register):
    register("exploding", "lca_boom.composer:ExplodingComposer")


@hookimpl
def lca_after_optimizer_step(iteration):
    if iteration == RAISE_IN_HOOK_AT:
        raise RuntimeError("the dashboard is down")
'''
COMPOSER = '''
from lca_plugins.composers.path_distance import PathDistanceComposer

import lca_boom


def rank(datapoint):
    lca_boom.calls[0] += 1
    if lca_boom.calls[0] == lca_boom.RAISE_ON_COMPOSE:
        raise ValueError(f"cannot rank {datapoint['completion_file']['filename']}")


class ExplodingComposer(PathDistanceComposer):
    """Path-distance context; raises on the n-th datapoint it sees."""

    def compose_context(self, datapoint):
        rank(datapoint)
        return super().compose_context(datapoint)
'''


@pytest.fixture
def boom(tmp_path, monkeypatch, plugin_manager):
    """The lca-boom distribution, installed as far as this process can tell."""
    package = tmp_path / "site" / "lca_boom"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PACKAGE)
    (package / "composer.py").write_text(COMPOSER)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    import lca_boom

    plugin_manager.add_plugin(lca_boom, Origin(plugin="boom", distribution="lca-boom", version="0.1"))
    yield lca_boom
    for name in ("lca_boom", "lca_boom.composer"):
        sys.modules.pop(name, None)


def run(project, *overrides):
    return lca_run(project, "run.toml", *overrides, "--no-progress")  # the plugin is inherited by the fork


@pytest.mark.slow
def test_a_raising_lifecycle_hook_stops_the_run_after_a_checkpoint(project, boom):
    boom.RAISE_IN_HOOK_AT = 3
    code, err = run(project)
    assert code == 1 and "Traceback" not in err
    assert "plugin 'lca-boom:boom' raised in lca_after_optimizer_step: RuntimeError: the dashboard is down" in err
    assert "saved checkpoint run/checkpoints/0003 (the state after iteration 3)" in err
    assert sorted(p.name for p in (project / "run" / "checkpoints").iterdir()) == ["0002", "0003"]


@pytest.mark.slow
def test_a_raising_component_is_named_with_its_distribution(project, boom):
    boom.RAISE_ON_COMPOSE = 7  # 2 validation datapoints, then 2 per step: the first of step 3
    code, err = run(project, "composer.name=exploding")
    assert code == 1 and "Traceback" not in err, err
    assert "composer 'exploding' from lca-boom 0.1 (plugin 'boom'; at lca_boom/composer.py:" in err
    assert ") raised ValueError: cannot rank" in err
    assert "(iteration 3)" in err and "last complete checkpoint: run/checkpoints/0002" in err
    assert len([line for line in err.splitlines() if line.startswith("lca-run: error")]) == 1
