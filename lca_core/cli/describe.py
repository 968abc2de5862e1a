"""``lca-run describe NAME``: a component's parameters, types, defaults and docs, and its origin."""

from __future__ import annotations

import argparse
import inspect

from lca_core.api.components import parameters
from lca_core.api.errors import ConfigError, ConfigProblem, suggestion
from lca_core.api.plugins import KINDS, get_plugin_manager


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="component name, e.g. path_distance (or kind:name when ambiguous)")


def run(args: argparse.Namespace) -> int:
    manager = get_plugin_manager()
    kind, _, name = args.name.rpartition(":")
    kinds = [kind] if kind else list(KINDS)
    if kind and kind not in KINDS:
        raise ConfigError([ConfigProblem("", f"unknown kind '{kind}'{suggestion(kind, KINDS)}")])
    found = [(k, manager.registry(k)) for k in kinds if name in manager.registry(k)]
    if not found:
        everything = {n for k in KINDS for n in manager.registry(k).names()}
        raise ConfigError([ConfigProblem("", f"no component named '{name}'{suggestion(name, everything)}; "
                                             "`lca-run list` shows what is installed")])
    for index, (k, registry) in enumerate(found):
        if index:
            print()
        entry = registry.entry(name, path=name)
        cls = entry.load()
        print(f"{k} '{name}' — {entry.summary()}")
        print(f"  from: {entry.origin.render()}")
        print(f"  class: {cls.__module__}.{cls.__qualname__}")
        doc = inspect.getdoc(cls) or ""
        body = "\n".join(doc.splitlines()[1:]).strip()
        if body:
            print()
            for line in body.splitlines():
                print(f"  {line}")
        params = parameters(cls)
        print("\n  parameters:" if params else "\n  parameters: none")
        for p in params:
            default = "required" if p.required else f"default {p.default!r}"
            print(f"    {p.name} ({p.type}; {default})")
            if p.doc:
                print(f"        {p.doc}")
    return 0
