"""Plugin discovery, registries and isolation, with temporary plugins registered and undone per test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import attrs
import pytest

import lca_core
from lca_core.api.components import param
from lca_core.api.errors import ConfigError, RunError
from lca_core.api.plugins import PluginManager, PluginWarning
from lca_core.api.registry import Origin
from lca_core.composing.composers import ComposerBase


@attrs.define(kw_only=True)
class EchoComposer(ComposerBase):
    """Puts a fixed string before the completion."""

    text: str = param("hello", doc="What to put in the context.")


class GoodPlugin:
    @staticmethod
    @lca_core.hookimpl
    def lca_register_composers(register):
        register("echo", EchoComposer)
        register("lazy_echo", "tests.core.test_plugins:EchoComposer", description="lazily imported")


class SameNamesPlugin(GoodPlugin):
    """Another distribution registering the same names."""


class RaisingPlugin:
    @staticmethod
    @lca_core.hookimpl
    def lca_register_composers(register):
        register("half_done", EchoComposer)
        raise RuntimeError("registration exploded")


class LifecyclePlugin:
    seen: list = []

    @staticmethod
    @lca_core.hookimpl
    def lca_after_optimizer_step(iteration, metrics):  # a subset of the hookspec's arguments
        LifecyclePlugin.seen.append((iteration, metrics["loss"]))


class RaisingLifecyclePlugin:
    @staticmethod
    @lca_core.hookimpl
    def lca_after_validation(iteration):
        raise ValueError("observer failed")


def manager_with(*plugins) -> PluginManager:
    manager = PluginManager()
    for index, plugin in enumerate(plugins):
        manager.add_plugin(plugin, Origin(plugin=f"p{index}", distribution=f"dist-{index}", version="1.0"))
    return manager


def test_register_class_and_lazy_string():
    registry = manager_with(GoodPlugin).registry("composer")
    assert registry.names() == ["echo", "lazy_echo"]
    entry = registry.entry("lazy_echo")
    assert isinstance(entry.target, str)  # not imported until used
    assert entry.load() is EchoComposer
    assert registry.entry("echo").summary() == "Puts a fixed string before the completion."


def test_unknown_name_suggests_and_lists_installed():
    registry = manager_with(GoodPlugin).registry("composer")
    with pytest.raises(ConfigError) as info:
        registry.entry("ecko")
    text = str(info.value)
    assert "composer.name: unknown composer 'ecko'; did you mean 'echo'?" in text
    assert "installed: echo, lazy_echo" in text


def test_same_name_from_two_distributions_is_a_conflict():
    manager = manager_with(GoodPlugin, SameNamesPlugin)
    registry = manager.registry("composer")
    assert len(registry.conflicts("echo")) == 2
    with pytest.raises(ConfigError) as info:
        registry.entry("echo")
    assert "dist-0" in str(info.value) and "dist-1" in str(info.value)


def test_raising_registration_hook_marks_plugin_broken_and_spares_others():
    with pytest.warns(PluginWarning, match="registration exploded"):
        manager = manager_with(GoodPlugin, RaisingPlugin)
    registry = manager.registry("composer")
    assert registry.entry("echo").load() is EchoComposer
    assert [p.status for p in manager.plugins] == ["ok", "BROKEN: RuntimeError: registration exploded"]
    with pytest.raises(RunError, match="registration exploded"):  # the original exception, when selected
        registry.entry("half_done")
    with pytest.raises(ConfigError, match="broken plugins that may provide it"):
        registry.entry("something_else")


def test_lifecycle_hooks_accept_a_subset_of_arguments():
    LifecyclePlugin.seen.clear()
    manager = manager_with(LifecyclePlugin)
    manager.notify("lca_after_optimizer_step", iteration=3, metrics={"loss": 1.5}, learning_rate=0.1)
    assert LifecyclePlugin.seen == [(3, 1.5)]


def test_raising_lifecycle_hook_names_the_plugin():
    manager = manager_with(RaisingLifecyclePlugin)
    with pytest.raises(RunError, match=r"plugin 'dist-0:p0' raised in lca_after_validation: ValueError"):
        manager.notify("lca_after_validation", iteration=1, metrics={})


def test_builtins_are_registered_through_entry_points(plugin_manager):
    schedulers = plugin_manager.registry("scheduler")
    assert {"cosine_warmup", "constant", "linear", "wsd"} <= set(schedulers.names())
    assert schedulers.entry("cosine_warmup").origin.distribution == "lca-pipeline"


def make_broken_distribution(root):
    """An installed distribution whose plugin module raises at import, found through sys.path."""
    dist = root / "broken_lca_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-lca-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lca]\nbroken = broken_lca_plugin\n")
    (root / "broken_lca_plugin.py").write_text("raise ImportError('missing dependency frobnicate')\n")


def test_installed_broken_plugin_leaves_cli_working(tmp_path):
    make_broken_distribution(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "lca_core.cli.main", "list"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "cosine_warmup" in result.stdout
    assert "BROKEN: ImportError: missing dependency frobnicate" in result.stdout
    assert "broken-lca-plugin" in result.stdout
    assert "warning: plugin broken-lca-plugin 0.1 (plugin 'broken') is broken" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_plugin_module_from_run_file(tmp_path, plugin_manager):
    (tmp_path / "my_plugin.py").write_text(textwrap.dedent("""
        import attrs
        import lca_core
        from lca_plugins.schedulers.schedules import Constant

        @attrs.define(kw_only=True)
        class Half(Constant):
            '''Half the peak learning rate.'''
            def lr(self, iteration, max_lr):
                return max_lr / 2

        @lca_core.hookimpl
        def lca_register_schedulers(register):
            register("half", Half)
    """))
    from lca_core.config.loader import config_from_dict

    data = {"model": {"name_or_path": "m"}, "data": {"path": "d"}, "scheduler": {"name": "half"},
            "plugins": {"modules": ["my_plugin.py"]}}
    config = config_from_dict(data, source=tmp_path / "x.toml", manager=plugin_manager)
    assert config.scheduler.name == "half"
    assert config.scheduler.build(manager=plugin_manager).lr(0, 1.0) == 0.5
