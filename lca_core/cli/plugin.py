"""``lca-run plugin new NAME --kind KIND``: a ready plugin package, a new author's first five minutes.

    lca-run plugin new my-ranker --kind composer    # ./lca-my-ranker/: pyproject, component, test, README
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from lca_core.api.errors import ConfigError, ConfigProblem

KIND_CHOICES = ("composer", "block", "preprocessor", "scheduler", "logger")
_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = sub.add_parser("new", help="write a plugin package with one component, its test and a README",
                         description="Write ./lca-NAME/: a pyproject.toml with the lca entry point, a component "
                                     "of the chosen kind, a test that runs the lca contract on real datapoints, "
                                     "and a README. Install it with `pip install -e ./lca-NAME`.")
    new.add_argument("name", metavar="NAME", help="plugin name, e.g. my-ranker (the distribution is lca-my-ranker, "
                                                  "the component my_ranker)")
    new.add_argument("--kind", choices=KIND_CHOICES, default="composer", help="what the component is "
                                                                               "(default: composer)")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to create lca-NAME/ (default: here)")


def run(args: argparse.Namespace) -> int:
    from lca_core.cli.plugin_skeleton import Names, skeleton

    name = args.name.lower()
    if name.startswith("lca-") or name.startswith("lca_"):
        name = name[4:]
    if not _NAME.match(name):
        raise ConfigError([ConfigProblem("NAME", f"{args.name!r} is not a plugin name: use lowercase letters, "
                                                 "digits and single '-' or '_' between them, e.g. my-ranker")])
    names = Names.of(name)
    root = args.dir / names.distribution
    if root.exists():
        raise ConfigError([ConfigProblem("NAME", f"{root} already exists; choose another name or --dir "
                                                 "(plugin new never overwrites)")])
    files = skeleton(names, args.kind)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {root}/ with a {args.kind} '{names.component}':")
    for relative in files:
        print(f"  {relative}")
    print(f"\nnext:\n  pip install -e {root}\n  lca-run list {args.kind}s\n  pytest {root / 'tests'}")
    return 0
