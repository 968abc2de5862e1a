"""Plugins as their authors expect them, with real pip-installed distributions and the real console script:
pluggy's hook semantics (tryfirst/trylast, new- and old-style wrappers, firstresult), registration
isolated per plugin, wrong-kind and unreadable registrations BROKEN at start-up, plain-class components."""

from __future__ import annotations

import json
import re
import textwrap
import warnings

import pytest

import lca_core
from lca_core.api.errors import RunError
from lca_core.api.plugins import PluginManager, PluginWarning
from lca_core.api.registry import Origin
from tests.factories import write_tiny_project
from tests.plugin_dists import env_with, lca_run, pip_install, write_distribution

TRACE = '''
import os

def trace(what):
    with open(os.environ["LCA_TRACE"], "a") as handle:
        handle.write(what + "\\n")
'''

OBSERVERS = {
    # distribution: (module, source)
    "lca-obs-first": ("obs_first", TRACE + '''
import lca_core

@lca_core.hookimpl(tryfirst=True)
def lca_after_optimizer_step(iteration):
    trace(f"first {iteration}")
'''),
    "lca-obs-plain": ("obs_plain", TRACE + '''
import lca_core

@lca_core.hookimpl
def lca_after_optimizer_step(iteration, metrics):
    trace(f"plain {iteration}")
'''),
    "lca-obs-last": ("obs_last", TRACE + '''
import lca_core

@lca_core.hookimpl(trylast=True)
def lca_after_optimizer_step(iteration):
    trace(f"last {iteration}")
'''),
    "lca-obs-wrapper": ("obs_wrapper", TRACE + '''
import lca_core

@lca_core.hookimpl(wrapper=True)
def lca_after_optimizer_step(iteration):
    trace(f"wrapper before {iteration}")
    result = yield
    trace(f"wrapper after {iteration} result={result!r}")
    return result
'''),
    "lca-obs-hookwrapper": ("obs_hookwrapper", TRACE + '''
import lca_core

@lca_core.hookimpl(hookwrapper=True, tryfirst=True)
def lca_after_optimizer_step(iteration):
    trace(f"hookwrapper before {iteration}")
    outcome = yield
    trace(f"hookwrapper after {iteration} ok={outcome.exception is None}")
'''),
}

COMPONENTS = {
    # a plain class, the way the original pipeline wrote components; registered as a class
    "lca-plain-composer": ("plain_composer", '''
from typing import Annotated

import lca_core
from lca_core.composing.composers import RankingComposer


class TopFiles(RankingComposer):
    """Snapshot files by path length, shortest nearest; only the best max_files."""

    def __init__(self, max_files: Annotated[int, "How many files to keep."] = 20, suffix: str = ".py", **kwargs):
        super().__init__(**kwargs)
        self.max_files = max_files
        self.suffix = suffix

    def ranking_function(self, chunk, datapoint):
        return (chunk.filename.endswith(self.suffix), -len(chunk.filename))

    def ordered_chunks(self, datapoint):
        return super().ordered_chunks(datapoint)[-self.max_files:]


@lca_core.hookimpl
def lca_register_composers(register):
    register("top_files", TopFiles)
'''),
    # a preprocessor registered as a composer, once as a class and once lazily
    "lca-wrong-kind": ("wrong_kind", '''
import lca_core
from lca_plugins.preprocessors.lm import LMPreprocessor


class MyPreprocessor(LMPreprocessor):
    """Meant to be a preprocessor."""


@lca_core.hookimpl
def lca_register_composers(register):
    register("wrongly", MyPreprocessor)
    register("wrongly_lazy", "wrong_kind:MyPreprocessor")


@lca_core.hookimpl
def lca_register_preprocessors(register):
    register("rightly", MyPreprocessor)
'''),
    "lca-unannotated": ("unannotated", '''
import lca_core
from lca_core.composing.composers import GrainedComposer


class Loose(GrainedComposer):
    def __init__(self, max_files=20, **kwargs):
        super().__init__(**kwargs)


@lca_core.hookimpl
def lca_register_composers(register):
    register("loose", Loose)
'''),
    "lca-misspelt": ("misspelt", '''
import lca_core

@lca_core.hookimpl
def lca_after_optimiser_step(iteration):
    pass
'''),
    # registration order across plugins follows tryfirst/trylast; a raising one spares the others
    "lca-reg-first": ("reg_first", TRACE + '''
import lca_core

@lca_core.hookimpl(tryfirst=True)
def lca_register_schedulers(register):
    trace("register first")
    raise RuntimeError("registration exploded")
'''),
    "lca-reg-last": ("reg_last", TRACE + '''
import lca_core
from lca_plugins.schedulers.schedules import Constant


@lca_core.hookimpl(trylast=True)
def lca_register_schedulers(register):
    trace("register last")
    register("also_constant", Constant)


@lca_core.hookimpl(wrapper=True, specname="lca_register_schedulers")
def around_my_registration(register):
    trace("register wrapper before")
    result = yield
    trace("register wrapper after")
    return result
'''),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every distribution above, pip-installed into one target directory."""
    root = tmp_path_factory.mktemp("dists")
    sources = [write_distribution(root / "src", dist, {module: source}, {module: module})
               for dist, (module, source) in {**OBSERVERS, **COMPONENTS}.items()]
    pip_install(root / "site", *sources)
    return root / "site"


@pytest.fixture
def env(site, tmp_path):
    return env_with(site, LCA_TRACE=str(tmp_path / "trace.txt"))


def trace(env) -> list[str]:
    from pathlib import Path

    path = Path(env["LCA_TRACE"])
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_lifecycle_hooks_keep_pluggys_order_and_a_raising_one_is_named(site, env, tokenizer, tmp_path):
    boom = write_distribution(tmp_path / "src", "lca-obs-boom", {"obs_boom": '''
        import lca_core

        @lca_core.hookimpl
        def lca_after_checkpoint(iteration):
            if iteration == 4:
                raise RuntimeError("dashboard unreachable")
    '''}, {"boom": "obs_boom"})
    pip_install(tmp_path / "boom-site", boom)
    project = write_tiny_project(tmp_path / "project", tokenizer)
    result = lca_run("run.toml", "--no-progress", cwd=project, env=env_with(tmp_path / "boom-site", site,
                                                                             LCA_TRACE=env["LCA_TRACE"]))
    for iteration in range(1, 5):
        assert trace(env)[-7 * (5 - iteration):][:7] == [
            f"hookwrapper before {iteration}",  # tryfirst wrapper: outermost
            f"wrapper before {iteration}",
            f"first {iteration}",  # tryfirst
            f"plain {iteration}",
            f"last {iteration}",  # trylast
            f"wrapper after {iteration} result=[]",
            f"hookwrapper after {iteration} ok=True",
        ], trace(env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("plugin 'lca-obs-boom:boom' raised in lca_after_checkpoint: RuntimeError: dashboard unreachable"
            in result.stderr), result.stderr


def test_registration_order_wrappers_and_isolation(site, env, tmp_path):
    result = lca_run("list", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert trace(env) == ["register first", "register wrapper before", "register last", "register wrapper after"]
    rows = {(row["kind"], row["name"]): row for row in json.loads(result.stdout)}
    assert rows["scheduler", "also_constant"]["status"] == "ok"  # the raising plugin spared it
    assert rows["plugin", "reg_first"]["status"] == "BROKEN: RuntimeError: registration exploded"
    assert "warning: plugin lca-reg-first 0.1.0 (plugin 'reg_first') is broken" in result.stderr
    assert "Traceback" not in result.stderr


def listing(result) -> dict[str, str]:
    return {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}


def test_wrong_kinds_and_unreadable_constructors_are_broken_at_start_up(site, env, tmp_path):
    plain = lca_run("list", cwd=tmp_path, env=env)
    assert plain.returncode == 0, plain.stderr
    assert "[" not in listing(plain)["wrongly_lazy"]  # not imported: `list` stays fast
    result = lca_run("list", "--check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = listing(result)
    assert ("[BROKEN: wrongly is registered as a composer but MyPreprocessor is not a ComposerBase subclass "
            "(it is a preprocessor: register it in lca_register_preprocessors)]") in lines["wrongly"]
    assert "[BROKEN: wrongly_lazy is registered as a composer but MyPreprocessor" in lines["wrongly_lazy"]
    assert "[" not in lines["rightly"] and "lca-wrong-kind 0.1.0" in lines["rightly"]
    assert ("[BROKEN: composer loose: Loose.__init__: parameter 'max_files' has no type annotation; annotate it "
            "(e.g. 'max_files: int = 20')") in lines["loose"]
    assert "[BROKEN: hook 'lca_after_optimiser_step' is not an lca hook; did you mean 'lca_after_optimizer_step'?]" \
        in lines["misspelt"]
    assert "[" not in lines["top_files"]
    # the class registration warned at start-up, before anything used it
    assert "wrongly is registered as a composer but MyPreprocessor" in result.stderr


def run_file(tmp_path, tokenizer, composer: str) -> tuple:
    project = write_tiny_project(tmp_path / "project", tokenizer, extra=f"\n[composer]\n{composer}\n")
    return project


def test_selecting_a_broken_registration_fails_before_use(site, env, tokenizer, tmp_path):
    project = run_file(tmp_path, tokenizer, 'name = "wrongly_lazy"')
    result = lca_run("check", "run.toml", cwd=project, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("composer.name: composer 'wrongly_lazy' comes from a broken plugin, lca-wrong-kind 0.1.0 (plugin "
            "'wrong_kind'): wrongly_lazy is registered as a composer but MyPreprocessor") in result.stderr


def test_plain_class_component_parameters_from_its_signature(site, env, tokenizer, tmp_path):
    described = lca_run("describe", "top_files", cwd=tmp_path, env=env)
    assert described.returncode == 0, described.stderr
    assert "max_files (an integer; default 20)\n        How many files to keep." in described.stdout
    assert "suffix (a string; default '.py')" in described.stdout
    assert "pre_context_prompt (a string; default '# {}\\n')" in described.stdout  # passed on by **kwargs

    project = run_file(tmp_path, tokenizer, 'name = "top_files"\nmax_filez = 3\nsuffix = 1')
    bad = lca_run("check", "run.toml", cwd=project, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "composer.max_filez: unknown key; did you mean 'max_files'?" in bad.stderr
    assert "composer.suffix: expected a string, got 1" in bad.stderr

    (project / "run.toml").write_text((project / "run.toml").read_text().replace("max_filez", "max_files")
                                      .replace("suffix = 1", 'suffix = ".md"'))
    good = lca_run("compose", "run.toml", "--index", "0", cwd=project, env=env)
    assert good.returncode == 0, good.stderr
    # .md files rank best, so README.md is the chunk nearest the completion (just before the post-context prompt)
    assert re.search(r"README\.md\n.*\(post-context prompt\)", good.stdout), good.stdout


# --- in-process: firstresult, plain-class pickling, the definition checks' messages -----------------


class FirstResultSpecs:
    @staticmethod
    @lca_core.api.hookspecs.hookspec(firstresult=True)
    def lca_example_choose(candidates):
        """A hook a plugin declares for other plugins: the first non-None answer wins."""


class Chooser:
    def __init__(self, answer, **opts):
        def lca_example_choose(candidates):
            return answer

        self.lca_example_choose = lca_core.hookimpl(**opts)(lca_example_choose)


def test_firstresult_hooks_return_the_first_answer():
    manager = PluginManager()
    manager.pm.add_hookspecs(FirstResultSpecs)
    for index, plugin in enumerate([Chooser("b"), Chooser(None, tryfirst=True), Chooser("a", tryfirst=True)]):
        manager.add_plugin(plugin, Origin(plugin=f"c{index}", distribution=f"dist-{index}"))
    assert manager.notify("lca_example_choose", candidates=["a", "b"]) == "a"


def test_a_wrapper_that_raises_is_named():
    class Wrapper:
        @staticmethod
        @lca_core.hookimpl(wrapper=True)
        def lca_after_validation(iteration):
            yield
            raise ValueError("wrapped badly")

    manager = PluginManager()
    manager.add_plugin(Wrapper, Origin(plugin="w", distribution="lca-w"))
    with pytest.raises(RunError, match=r"plugin 'lca-w:w' raised in lca_after_validation: ValueError: wrapped badly"):
        manager.notify("lca_after_validation", iteration=1, metrics={})


def test_plain_composer_keeps_the_contract_and_pickles(site, monkeypatch):
    import pickle

    from lca_core.api.components import build_params, resolved_params
    from lca_core.api.testing import check_composer_contract, sample_datapoints

    monkeypatch.syspath_prepend(str(site))
    from plain_composer import TopFiles

    composer, problems = build_params(TopFiles, {"max_files": 2, "chunks_sep": "\n"}, "composer")
    assert problems == []
    assert resolved_params(composer)["max_files"] == 2 and resolved_params(composer)["chunks_sep"] == "\n"
    revived = pickle.loads(pickle.dumps(composer))
    assert (revived.max_files, revived.suffix, revived.chunks_sep) == (2, ".py", "\n")
    check_composer_contract(composer, sample_datapoints(3))


@pytest.mark.parametrize(("init", "message"), [
    ("def __init__(self, **kwargs): pass",
     "Bare.__init__ takes only **kwargs, so nothing says which parameters it has; name them with types"),
    ("def __init__(self, *args: int): pass", "Bare.__init__ takes *args: a run file can only give named parameters"),
    ("def __init__(self, size: 'Missing' = 1): pass", "Bare.__init__: its annotations cannot be resolved"),
])
def test_unreadable_constructors_say_what_to_add(init, message):
    namespace: dict = {}
    exec(f"class Bare(Component):\n    {init}", {"Component": lca_core.api.components.Component}, namespace)
    from lca_core.api.constructors import definition_problem

    assert message in definition_problem(namespace["Bare"])


def test_annotations_on_an_undecorated_subclass_are_named():
    from lca_core.api.constructors import definition_problem
    from lca_core.composing.composers import GrainedComposer

    class Forgot(GrainedComposer):
        max_files: int = 3

    problem = definition_problem(Forgot)
    assert "declares 'max_files' as class annotations but is not an attrs class" in problem
    assert "@attrs.define(kw_only=True)" in problem


def test_builtins_are_all_of_their_kind(plugin_manager):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        for registry in plugin_manager.registries.values():
            for entry in registry.entries():
                if entry.origin.distribution == "lca-pipeline":
                    entry.load()  # imports, checks kind and constructor
                    assert entry.broken is None, entry


# --- a component's own bug, wherever it runs, is reported as that plugin's ------------------------------

TYPO = '''
import lca_core
from lca_core.composing.composers import RankingComposer


class Typo(RankingComposer):
    """Ranks by a misspelt attribute."""

    def ranking_function(self, chunk, datapoint):
        return len(chunk.file_name)


@lca_core.hookimpl
def lca_register_composers(register):
    register("typo", "typo_composer:Typo")
'''


@pytest.fixture(scope="module")
def typo_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("typo")
    pip_install(root / "site", write_distribution(root / "src", "lca-typo", {"typo_composer": TYPO},
                                                  {"typo": "typo_composer"}))
    return root / "site"


TYPO_MESSAGE = ("lca-run: error: composer 'typo' from lca-typo 0.1.0 (plugin 'typo'; at typo_composer.py:10) "
                "raised AttributeError: 'Chunk' object has no attribute 'file_name'; did you mean 'filename'? "
                "(fix the component, or choose another; --traceback shows the whole traceback)")


@pytest.mark.parametrize("command", [("check",), ("compose", "--index", "1"),
                                     ("eval", "--checkpoint", "base", "--limit", "1", "--max-new-tokens", "2")])
def test_a_raising_component_is_named_in_check_compose_and_eval(command, typo_site, tokenizer, tmp_path):
    project = run_file(tmp_path, tokenizer, 'name = "typo"')
    result = lca_run(command[0], "run.toml", *command[1:], cwd=project, env=env_with(typo_site))
    assert result.returncode == 1, result.stderr
    assert TYPO_MESSAGE in result.stderr.splitlines(), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_skeleton_left_unfinished_is_named(tmp_path, tokenizer, monkeypatch):
    """`def ranking_function(self, chunk, datapoint): ...` returns None: the composer is named, with what to return."""
    (tmp_path / "unfinished.py").write_text(textwrap.dedent('''
        import attrs
        import lca_core
        from lca_core.composing.composers import RankingComposer

        @attrs.define(kw_only=True)
        class Unfinished(RankingComposer):
            def ranking_function(self, chunk, datapoint):
                ...

        @lca_core.hookimpl
        def lca_register_composers(register):
            register("unfinished", Unfinished)
    '''))
    project = run_file(tmp_path, tokenizer, 'name = "unfinished"')
    (project / "run.toml").write_text((project / "run.toml").read_text()
                                      + f'\n[plugins]\nmodules = ["{tmp_path / "unfinished.py"}"]\n')
    result = lca_run("compose", "run.toml", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "composer 'unfinished' from local file" in result.stderr
    assert ("raised TypeError: Unfinished: ranking_function/rank_chunks must give one comparable key per chunk "
            "(higher = nearer the completion), got 5 keys for 5 chunks and None among them") in result.stderr


SPEC_OWNER = '''
import pluggy

import lca_core
from lca_plugins.schedulers.schedules import Constant

hookspec = pluggy.HookspecMarker("lca")
MANAGER = []


class Specs:
    @hookspec(firstresult=True)
    def lca_pick_name(default):
        """The name the owner registers its scheduler under: the first non-None answer."""


@lca_core.hookimpl
def lca_addhooks(pluginmanager):
    pluginmanager.add_hookspecs(Specs)
    MANAGER.append(pluginmanager)


@lca_core.hookimpl(trylast=True)
def lca_register_schedulers(register):
    register(MANAGER[0].hook.lca_pick_name(default="owner_default"), Constant)
'''


def answer(value, **opts):
    marks = ", ".join(f"{key}={value}" for key, value in opts.items())
    return f'''
import lca_core

@lca_core.hookimpl({marks})
def lca_pick_name(default):
    return {value!r}
'''


def test_a_plugin_declared_firstresult_hook_returns_the_first_answer(tmp_path):
    sources = [write_distribution(tmp_path / "src", dist, {module: source}, {module: module}) for dist, module, source in [
        ("lca-spec-owner", "spec_owner", SPEC_OWNER),
        ("lca-answer-none", "answer_none", answer(None, tryfirst=True)),  # None: the next one is asked
        ("lca-answer-a", "answer_a", answer("picked_a", tryfirst=True)),
        ("lca-answer-b", "answer_b", answer("picked_b")),
        ("lca-answer-c", "answer_c", answer("picked_c", trylast=True)),
    ]]
    pip_install(tmp_path / "site", *sources)
    result = lca_run("list", "schedulers", cwd=tmp_path, env=env_with(tmp_path / "site"))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert "picked_a" in result.stdout and "picked_b" not in result.stdout and "owner_default" not in result.stdout


def test_a_plain_class_that_skips_the_base_init_is_told_to_call_it():
    from lca_core.api.components import build_params
    from lca_core.api.constructors import ComponentDefinitionError
    from lca_core.composing.composers import GrainedComposer

    class NoSuper(GrainedComposer):
        def __init__(self, size: int = 1):
            self.size = size

    with pytest.raises(ComponentDefinitionError, match=r"NoSuper.__init__ must call super\(\).__init__\(\*\*kwargs\)"):
        build_params(NoSuper, {}, "composer")
