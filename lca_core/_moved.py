"""Old import paths of modules that moved into `lca_core.api` and `lca_core.composing`.

Plugins written before the move import ``lca_core.registry``, ``lca_core.composers`` and so on. A
finder on ``sys.meta_path`` answers those names with the module at its new path — the same module
object, so ``isinstance`` checks, class identity and monkeypatching hold across both names. No file
remains at an old path; this table is the whole record of the move.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

#: old dotted name -> new dotted name
MOVED = {
    **{f"lca_core.{name}": f"lca_core.api.{name}" for name in (
        "components", "errors", "hookspecs", "loggers", "plugins", "registry", "schedulers")},
    **{f"lca_core.{name}": f"lca_core.composing.{name}" for name in (
        "blocks", "composers", "pipeline", "preprocessing", "pretruncation", "testing")},
    "lca_core.config.converter": "lca_core.api.converter",
    # the fixed tables' sections, beside the run-file schema that gathers them
    "lca_core.data.config": "lca_core.config.data",
    "lca_core.models.config": "lca_core.config.model",
    "lca_core.training.config": "lca_core.config.training",
    "lca_core.api.testing": "lca_core.composing.testing",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name by importing the new one and handing back that very module."""

    def __init__(self, new_name: str):
        self.new_name = new_name

    def create_module(self, spec):
        module = importlib.import_module(self.new_name)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # Already executed under its new name; the import system has just set the module's
        # __spec__ to the alias spec, so give it back its own (reload and tools read it).
        module.__spec__ = self.own_spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old names in `MOVED` (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        new_name = MOVED.get(fullname)
        if new_name is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new_name))


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
