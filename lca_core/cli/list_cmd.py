"""``lca-run list [KIND] [--json]``: installed components with their distribution and status.

A class registered directly was checked when its plugin loaded (kind, constructor); one registered
lazily (``"module:Class"``) is checked when first imported — by a run file that selects it, by
``describe``, or here with ``--check``, which imports every third-party lazy target (the built-ins are
checked by the test suite) so that a broken one is listed as BROKEN before any run uses it.
"""

from __future__ import annotations

import argparse
import json

from lca_core.api.errors import RunError
from lca_core.api.plugins import KINDS, get_plugin_manager
from lca_core.api.registry import Entry, broken_reason

_ALIASES = {plural: kind for kind, (_, plural) in KINDS.items()} | {kind: kind for kind in KINDS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=sorted(_ALIASES), metavar="KIND",
                        help="one of: " + ", ".join(plural for _, plural in KINDS.values()))
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true",
                        help="also import lazily registered third-party components to check them (slower)")


def rows(kind: str | None = None, check: bool = False) -> list[dict]:
    manager = get_plugin_manager()
    out = []
    kinds = [_ALIASES[kind]] if kind else list(KINDS)
    for k in kinds:
        registry = manager.registry(k)
        for entry in registry.entries():
            conflict = registry.conflicts(entry.name)
            if check:
                _verify(entry)
            if entry.broken is not None:
                status = f"BROKEN: {broken_reason(entry.broken)}"
            elif conflict:
                status = "CONFLICT: " + ", ".join(e.origin.distribution for e in conflict)
            else:
                status = "ok"
            out.append({
                "kind": k,
                "name": entry.name,
                "distribution": entry.origin.distribution,
                "version": entry.origin.version,
                "plugin": entry.origin.plugin,
                "description": entry.summary(),
                "status": status,
            })
    for plugin in manager.plugins:
        if plugin.error is not None and not any(r["plugin"] == plugin.origin.plugin
                                                and r["distribution"] == plugin.origin.distribution for r in out):
            out.append({
                "kind": "plugin",
                "name": plugin.origin.plugin,
                "distribution": plugin.origin.distribution,
                "version": plugin.origin.version,
                "plugin": plugin.origin.plugin,
                "description": "",
                "status": plugin.status,
            })
    return out


def _verify(entry: Entry) -> None:
    """Import a third-party lazy target so that a broken one shows as BROKEN (``entry.broken``)."""
    if isinstance(entry.target, str) and entry.broken is None and entry.origin.distribution != "lca-pipeline":
        try:
            entry.load()
        except RunError as exc:
            entry.broken = entry.broken or exc.__cause__ or exc


def run(args: argparse.Namespace) -> int:
    data = rows(args.kind, check=args.check)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    if not data:
        print("nothing installed")
        return 0
    current = None
    for row in data:
        if row["kind"] != current:
            current = row["kind"]
            width = max(len(r["name"]) for r in data if r["kind"] == current)  # aligned within each kind
            title = KINDS[current][1] if current in KINDS else "plugins that failed to load"
            print(f"\n{title}:" if current != data[0]["kind"] else f"{title}:")
        dist = f"{row['distribution']} {row['version']}".strip()
        status = "" if row["status"] == "ok" else f"  [{row['status']}]"
        print(f"  {row['name']:<{width}}  {dist:<24} {row['description']}{status}")
    return 0
