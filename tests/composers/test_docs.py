"""docs/composers.md names every built-in composer and block and every parameter they declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from lca_core.api.components import parameters
from lca_core.api.plugins import get_plugin_manager

DOC = (Path(__file__).resolve().parents[2] / "docs" / "composers.md").read_text(encoding="utf-8")
BUILTINS = [(kind, entry.name) for kind in ("composer", "block")
            for entry in get_plugin_manager().registry(kind).entries() if entry.origin.distribution == "lca-pipeline"]


@pytest.mark.parametrize(("kind", "name"), BUILTINS)
def test_docs_cover_the_component_and_its_parameters(kind, name):
    assert f"`{name}`" in DOC, f"docs/composers.md does not mention the {kind} `{name}`"
    for p in parameters(get_plugin_manager().registry(kind).load(name)):
        assert f"`{p.name}" in DOC, f"docs/composers.md does not document {kind} {name}'s parameter `{p.name}`"
