"""``lca-run``: the command line. Verbs are imported lazily so --help, list, describe and init stay fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from lca_core import __version__
from lca_core.api.errors import LcaError

#: verb -> (module with add_arguments(parser) and run(args) -> int, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "check": ("lca_core.cli.check", "validate a run file, build every component, compose and preprocess one datapoint"),
    "list": ("lca_core.cli.list_cmd", "list installed components (composers, preprocessors, ...) and plugins"),
    "describe": ("lca_core.cli.describe", "show a component's parameters, types, defaults and origin"),
    "init": ("lca_core.cli.init", "create runs/NAME/run.toml from a template"),
    "compose": ("lca_core.cli.compose", "show the composed and tokenized context of a datapoint"),
    "dataset": ("lca_core.cli.dataset", "build LCA-format datasets from local repositories"),
    "eval": ("lca_core.cli.evaluate", "line-completion exact match and edit similarity per category"),
    "plot": ("lca_core.cli.plot", "plot training and validation curves of a run directory"),
    "plugin": ("lca_core.cli.plugin", "write a ready plugin package: plugin new NAME --kind composer|block|..."),
}

#: options of the main job that take a value (so ``lca-run --nproc 2 RUN.toml`` finds the run file)
TRAIN_VALUE_OPTIONS = ("--nproc", "--log-every")

USAGE = "lca-run [--traceback] RUN.toml [key=value ...]\n       lca-run [--traceback] VERB ..."


def _overview() -> str:
    lines = [
        f"usage: {USAGE}",
        "",
        "Fine-tune and evaluate code-completion models with pluggable context composers.",
        "",
        "main job:",
        "  RUN.toml [key=value ...]   train as the run file says; overrides are TOML literals,",
        "                             e.g. trainer.learning_rate=3e-5 composer.name=file_level",
        "  --nproc N                  train on N processes of this machine (starts torchrun)",
        "  --no-progress              plain log lines instead of a progress bar (the default off a terminal)",
        "  --log-every N|Ss           a log line every N steps or S seconds (default: about every 30 s)",
        "  --allow-changes            resume although the configuration or data changed (docs/reliability.md)",
        "",
        "Options and key=value overrides may come in any order, for the main job and every verb.",
        "",
        "verbs:",
    ]
    for verb, (_, help_text) in VERBS.items():
        lines.append(f"  {verb:<12} {help_text}")
    lines += [
        "",
        "options:",
        "  -h, --help     show this message (VERB --help for a verb)",
        "  --version      show the version and installed plugin distributions",
        "  --traceback    show Python tracebacks for errors (or set LCA_TRACEBACK=1)",
        "",
        "Exit codes: 0 success, 1 runtime error, 2 configuration error.",
    ]
    return "\n".join(lines)


def _version() -> str:
    from importlib import metadata

    lines = [f"lca-pipeline {__version__}"]
    seen = set()
    for ep in metadata.entry_points(group="lca"):
        dist = getattr(ep, "dist", None)
        if dist is None or dist.name in seen or dist.name == "lca-pipeline":
            continue
        seen.add(dist.name)
        lines.append(f"  plugin {dist.name} {dist.version}")
    return "\n".join(lines)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(_redacted(f"lca-run: warning: {message}"), file=sys.stderr)


def _redacted(text: str) -> str:
    """``text`` without secrets (a plugin's message may quote a token); lca_core.redact."""
    from lca_core.redact import redact

    return redact(text)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    traceback_wanted = os.environ.get("LCA_TRACEBACK", "") not in ("", "0")
    if "--traceback" in argv:
        argv.remove("--traceback")
        traceback_wanted = True
    warnings.showwarning = _show_warning
    try:
        code = _dispatch(argv)
        # buffered output (stdout not a terminal, PYTHONUNBUFFERED unset) meets a closed pipe here, where the
        # handler below silences it, not in the interpreter's final flush ("Exception ignored ... BrokenPipeError")
        sys.stdout.flush()
        return code
    except LcaError as exc:
        if traceback_wanted:
            raise
        prefix = "configuration error" if exc.exit_code == 2 else getattr(exc, "prefix", "error")
        for line in exc.render().splitlines() or [""]:
            print(_redacted(f"lca-run: {prefix}: {line}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `lca-run list | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except KeyboardInterrupt as exc:  # Ctrl-C, or a second SIGTERM/SIGINT during training
        print(_redacted(f"lca-run: interrupted{f': {exc}' if str(exc) else ''}"), file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
    except OSError as exc:  # the machine, not the code: a full disk, a missing permission
        if traceback_wanted:
            raise
        print(_redacted(f"lca-run: error: {exc}") + " (free space or fix the permission, then run again: a training run resumes "
              "from its latest checkpoint)", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected failure: one line unless a traceback is asked for
        if traceback_wanted:
            raise
        from lca_core.api.blame import component_error

        blamed = component_error(exc)  # a plugin's component raised (in check, compose, eval, ...): name it
        if blamed is not None:
            print(_redacted(f"lca-run: error: {blamed}"), file=sys.stderr)
            return 1
        print(_redacted(f"lca-run: internal error: {type(exc).__name__}: {exc} (run again with --traceback for details)"),
              file=sys.stderr)
        return 1


#: environment switches that turn off tqdm's and the Hugging Face libraries' progress bars (read at import)
NO_BARS = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def no_bars_off_terminal() -> None:
    """Progress bars only on a terminal: off one (a file, a pipe, nohup, a batch job) every library's bars —
    transformers' GGUF de-quantisation and weight loading, `datasets`' "Generating train split", tqdm in
    plugins — are switched off before any of them is imported (child processes such as torchrun's inherit it)."""
    from lca_core.training.progress import on_terminal

    if not on_terminal():
        for name, value in NO_BARS.items():
            os.environ.setdefault(name, value)


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_overview())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(_version())
        return 0
    no_bars_off_terminal()
    from lca_core.cli.parsing import first_positional, new_parser, parse

    where = first_positional(argv, TRAIN_VALUE_OPTIONS)
    if where is not None and argv[where] in VERBS:  # a verb; options may come before or after it
        verb = argv[where]
        module_name, help_text = VERBS[verb]
        module = importlib.import_module(module_name)
        parser = new_parser(f"lca-run {verb}", help_text)
        module.add_arguments(parser)
        return int(module.run(parse(parser, argv[:where] + argv[where + 1:])) or 0)
    if where is None and any(token in ("-h", "--help") for token in argv):
        print(_overview())
        return 0
    if where is not None:
        _not_a_verb(argv[where])
    from lca_core.cli import train

    parser = new_parser("lca-run", "Train as the run file says.", usage=USAGE)
    train.add_arguments(parser)
    return int(train.run(parse(parser, argv)) or 0)


def _not_a_verb(word: str) -> None:
    """A first word that is no run file and looks like a mistyped verb is named as such (exit 2)."""
    from pathlib import Path

    from lca_core.api.errors import ConfigError, did_you_mean

    if Path(word).exists() or "=" in word or Path(word).suffix:
        return
    match = did_you_mean(word, VERBS)
    hint = f"did you mean '{match}'?" if match else f"verbs: {', '.join(VERBS)}; or give a run file (RUN.toml)"
    raise ConfigError(f"'{word}' is neither a verb nor an existing run file; {hint}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
