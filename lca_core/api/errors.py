"""User-facing errors: what went wrong, where, and what to do — never a bare traceback.

`ConfigError` (exit code 2) covers everything a user can fix in a run file, an override or a
plugin choice. `RunError` (exit code 1) covers failures at run time (a bad datapoint under the
``fail`` policy, a missing checkpoint, a plugin that raised inside a component).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import attrs


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word``, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' or an empty string."""
    match = did_you_mean(word, choices)
    return f"; did you mean '{match}'?" if match else ""


@attrs.frozen
class ConfigProblem:
    """One problem in a run file: its dotted path and a message saying what was expected."""

    path: str
    message: str

    def render(self, source: str | None = None) -> str:
        where = f"{source}: " if source else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


class LcaError(Exception):
    """Base of the errors the CLI turns into a one-line message and an exit code."""

    exit_code = 1

    def render(self) -> str:
        return str(self)


class RunError(LcaError):
    """A failure at run time, reported without a traceback (exit code 1)."""

    exit_code = 1


class ConfigError(LcaError):
    """One or more problems with a run file, overrides or component choice (exit code 2)."""

    exit_code = 2

    def __init__(self, problems: list[ConfigProblem] | str, source: str | None = None):
        if isinstance(problems, str):
            problems = [ConfigProblem("", problems)]
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def prefixed(self, prefix: str) -> "ConfigError":
        """The same problems with ``prefix`` put in front of every dotted path."""
        return ConfigError(
            [ConfigProblem(join_path(prefix, p.path), p.message) for p in self.problems],
            source=self.source,
        )

    def render(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)


def join_path(*parts: str | int) -> str:
    """Join dotted-path parts; integers become list indices (``blocks[2]``)."""
    out = ""
    for part in parts:
        if part == "" or part is None:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


class ParamError(ValueError):
    """Raised by a component's own checks (``__attrs_post_init__``) about one of its parameters."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key
        self.message = message
