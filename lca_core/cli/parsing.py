"""One argument-parsing path for every verb and the main job: options and ``key=value`` overrides in any order.

Every verb's ``add_arguments(parser)`` fills a `Parser`; `parse` reads the command line with
``parse_intermixed_args``, so ``lca-run RUN.toml --no-progress key=value``, ``lca-run --no-progress
RUN.toml`` and ``lca-run eval key=value RUN.toml --limit 5`` all mean what they say. A verb with
actions (``lca-run dataset build ...``) is parsed the same way, one level down. Unknown options get a
did-you-mean, and every parsing error exits with 2 (a configuration error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from lca_core.api.errors import suggestion


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors suggest the nearest option ("did you mean '--no-progress'?")."""

    def error(self, message: str):  # noqa: D401 - argparse's signature
        unknown = message.partition("unrecognized arguments: ")[2].split()
        options = [option for action in self._actions for option in action.option_strings]
        hints = [suggestion(word.partition("=")[0], options) for word in unknown if word.startswith("-")]
        hint = next((h for h in hints if h), "")
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def new_parser(prog: str, description: str, usage: str | None = None) -> Parser:
    return Parser(prog=prog, description=description, usage=usage)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Options and positionals intermixed, for a parser with or without sub-commands (actions)."""
    argv = list(argv)
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        return parser.parse_intermixed_args(argv)
    sub = actions[0]
    where = next((i for i, token in enumerate(argv) if token in sub.choices), None)
    if where is None or any(token in ("-h", "--help") for token in argv[:where]):
        return parser.parse_args(argv)  # argparse's own message: which actions exist, or the help
    namespace = parse(sub.choices[argv[where]], argv[:where] + argv[where + 1:])
    setattr(namespace, sub.dest, argv[where])
    return namespace


def first_positional(argv: Sequence[str], value_options: Iterable[str] = ()) -> int | None:
    """Index of the first token that is neither an option nor an option's value (``--nproc 2``)."""
    takes_value = set(value_options)
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return index + 1 if index + 1 < len(argv) else None
        if not token.startswith("-") or token == "-":
            return index
        index += 2 if token in takes_value else 1
    return None
