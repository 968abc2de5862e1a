"""docs/plugins.md stays in step with the hookspecs: every hook documented, with its arguments."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from lca_core.api import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hookspec_functions():
    return {name: fn for name, fn in vars(hookspecs).items() if name.startswith("lca_") and callable(fn)}


def test_every_hookspec_has_a_docstring():
    for name, fn in hookspec_functions().items():
        assert (fn.__doc__ or "").strip(), name


def test_every_hookspec_is_documented_with_its_arguments():
    rows = dict(re.findall(r"^\| `(lca_\w+)` \| `([^`]*)` \|", DOC.read_text(), flags=re.M))
    specs = hookspec_functions()
    assert set(rows) == set(specs), set(rows) ^ set(specs)
    for name, fn in specs.items():
        documented = [a.strip() for a in rows[name].split(",")]
        assert documented == list(inspect.signature(fn).parameters), name


def test_configuration_reference_is_generated_from_the_declarations(plugin_manager):
    from lca_core.config.reference import render_reference

    current = (DOC.parent / "configuration.md").read_text()
    assert current == render_reference(plugin_manager), (
        "docs/configuration.md is stale: run `python -m lca_core.config.reference > docs/configuration.md`"
    )
