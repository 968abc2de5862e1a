"""Which component's code raised an exception: its kind, name, distribution, plugin and source line.

Used wherever components run — ``lca-run check``, ``compose``, ``eval`` and training — so that a
plugin's bug is reported as that plugin's, in one line, instead of as an internal error.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from lca_core.api.errors import RunError, suggestion

_FILE_LINE = re.compile(r'File "([^"]+)", line (\d+)')


def _component_files() -> list[tuple[str, Any]]:
    """(file or package folder, registry entry) of every component loaded in this process."""
    from lca_core.api.plugins import get_plugin_manager

    found = []
    for registry in get_plugin_manager().registries.values():
        for entry in registry.entries():
            if isinstance(entry.target, str):
                continue  # never loaded: not used by this run
            module = sys.modules.get(getattr(entry.target, "__module__", ""))
            file = getattr(module, "__file__", None)
            if not file:
                continue
            top = sys.modules.get(module.__name__.split(".")[0])
            # a third-party plugin's helpers live anywhere in its package: blame the whole package
            if entry.origin.distribution not in ("lca-pipeline", "local file") and getattr(top, "__path__", None):
                found.extend((os.path.realpath(p) + os.sep, entry) for p in top.__path__)
            found.append((os.path.realpath(file), entry))
    return found


def _frames_of(exc: BaseException) -> list[tuple[str, int, Any]]:
    """(source file, line, the frame's ``self``) of the frames that raised ``exc`` (and its causes), innermost
    first; ``self`` tells which component a base class's code was running for."""
    frames_out: list[tuple[str, int, Any]] = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb, frames = exc.__traceback__, []
        while tb is not None:
            frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_locals.get("self")))
            tb = tb.tb_next
        # a DataLoader or ``datasets`` worker's exception carries the worker's traceback as text only
        frames += [(file, int(line), None) for file, line in _FILE_LINE.findall(str(exc))]
        frames_out += [(os.path.realpath(f), line, owner) for f, line, owner in reversed(frames)]
        exc = exc.__cause__ or exc.__context__
    return frames_out


def _short(file: str) -> str:
    """A source file as a path from its top-level package (``lca_boom/composer.py``)."""
    best = file
    for root in sys.path:
        root = os.path.realpath(root or os.getcwd()) + os.sep
        if file.startswith(root) and len(file) - len(root) < len(best):
            best = file[len(root):]
    return best


def blame(exc: BaseException) -> str | None:
    """"composer 'x' from dist 1.0 (plugin 'p'; at pkg/mod.py:12)" when a loaded component's code raised
    ``exc`` (or a base class's code, running for that component), else None."""
    components = _component_files()
    classes = {entry.target: entry for _, entry in components}
    for file, line, owner in _frames_of(exc):
        for where, entry in components:
            if file == where or (where.endswith(os.sep) and file.startswith(where)):
                return _render(entry, file, line)
        if type(owner) in classes:
            return _render(classes[type(owner)], file, line)
    return None


def _render(entry: Any, file: str, line: int) -> str:
    version = f" {entry.origin.version}" if entry.origin.version else ""
    return (f"{entry.kind} '{entry.name}' from {entry.origin.distribution}{version} "
            f"(plugin '{entry.origin.plugin}'; at {_short(file)}:{line})")


def describe_exception(exc: BaseException) -> str:
    """``Type: message``, with a did-you-mean for a misspelt attribute (``chunk.file_name``)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, AttributeError) and getattr(exc, "name", None) and getattr(exc, "obj", None) is not None:
        public = [name for name in dir(exc.obj) if not name.startswith("_")]
        text += suggestion(exc.name, public)
    return text


def component_error(exc: BaseException) -> RunError | None:
    """A one-line `RunError` naming the component whose code raised ``exc``; None when none did."""
    culprit = blame(exc)
    if culprit is None:
        return None
    error = RunError(f"{culprit} raised {describe_exception(exc)} (fix the component, or choose another; "
                     "--traceback shows the whole traceback)")
    error.__cause__ = exc
    return error
