"""``lca-run init NAME [--template T]``: a new run directory with a run file from a shipped template."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from lca_core.api.errors import ConfigError, ConfigProblem, suggestion


def templates() -> dict[str, str]:
    """Template name -> TOML text, from ``lca_core/templates``."""
    folder = resources.files("lca_core") / "templates"
    return {item.name[: -len(".toml")]: item.read_text(encoding="utf-8")
            for item in folder.iterdir() if item.name.endswith(".toml")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="", help="run name; creates runs/NAME/run.toml")
    parser.add_argument("--template", "-t", default="quickstart",
                        help="template to start from (default: quickstart); --list-templates shows them")
    parser.add_argument("--runs-dir", default="runs", help="parent directory of runs (default: runs)")
    parser.add_argument("--list-templates", action="store_true", help="list the templates and exit")


def run(args: argparse.Namespace) -> int:
    available = templates()
    if args.list_templates:
        for name, text in sorted(available.items()):
            first = text.splitlines()[0].lstrip("# ") if text else ""
            print(f"{name:<16} {first}")
        return 0
    if args.template not in available:
        raise ConfigError([ConfigProblem("--template", f"unknown template '{args.template}'"
                                         f"{suggestion(args.template, available)} (templates: {', '.join(sorted(available))})")])
    if not args.name:
        raise ConfigError([ConfigProblem("NAME", "give a run name: lca-run init NAME [--template T] "
                                                 "(lca-run init --list-templates shows the templates)")])
    if "/" in args.name or args.name in (".", ".."):
        raise ConfigError([ConfigProblem("NAME", f"'{args.name}' is not a valid run name (no slashes)")])
    run_dir = Path(args.runs_dir) / args.name
    if run_dir.exists():
        raise ConfigError([ConfigProblem("NAME", f"'{run_dir}' already exists; choose another name "
                                                 "or remove it (init never overwrites)")])
    run_dir.mkdir(parents=True)
    target = run_dir / "run.toml"
    target.write_text(available[args.template], encoding="utf-8")
    print(f"created {target} from template '{args.template}'")
    print(f"edit it, then: lca-run {target}")
    return 0
