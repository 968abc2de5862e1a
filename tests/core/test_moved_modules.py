"""Modules that moved into lca_core.api / lca_core.composing keep their old import paths."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from lca_core._moved import MOVED

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_path_is_the_same_module_as_its_new_one(old, new):
    assert not (REPO / (old.replace(".", "/") + ".py")).exists()  # no file left at the old path
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new


def test_old_import_forms_give_the_same_objects_and_monkeypatching_reaches_both(monkeypatch):
    from lca_core.composers import ComposerBase as OldComposerBase
    from lca_core.composing.composers import ComposerBase
    import lca_core.registry as old_registry
    from lca_core.api import registry

    assert OldComposerBase is ComposerBase
    monkeypatch.setattr(old_registry, "Registry", "patched")
    assert registry.Registry == "patched"


def test_an_old_path_imported_first_in_a_fresh_interpreter():
    code = ("import lca_core.errors as old\n"
            "from lca_core.preprocessing import PreprocessorBase\n"
            "import lca_core.api.errors as new, lca_core.composing.preprocessing as p, sys\n"
            "assert old is new and PreprocessorBase is p.PreprocessorBase\n"
            "assert sys.modules['lca_core.errors'] is new and new.__spec__.name == 'lca_core.api.errors'\n"
            "import importlib; importlib.reload(new)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_unknown_names_are_still_missing():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("lca_core.no_such_module")
