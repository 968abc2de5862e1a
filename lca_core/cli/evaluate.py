"""``lca-run eval RUN.toml``: the command line of an evaluation (evaluation/build.py assembles and runs it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lca_core.cli.common import add_run_file, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lca_core.evaluation.runner import ALL_CATEGORIES, DEFAULT_CATEGORIES, MODES

    add_run_file(parser)
    parser.add_argument("--checkpoint", action="append", metavar="best|last|base|PATH",
                        help="weights to evaluate; repeat to compare (default: best checkpoint, else base)")
    parser.add_argument("--composer", action="append", metavar="NAME",
                        help="composer to evaluate; repeat to compare (default: the run's [composer])")
    parser.add_argument("--limit", type=int, default=0, metavar="N", help="only the first N datapoints (0 = all)")
    parser.add_argument("--categories", nargs="+", choices=ALL_CATEGORIES, default=list(DEFAULT_CATEGORIES),
                        metavar="CATEGORY", help=f"line categories to score (default: {' '.join(DEFAULT_CATEGORIES)}; "
                                                 f"choices: {' '.join(ALL_CATEGORIES)})")
    parser.add_argument("--mode", choices=MODES, default="generation",
                        help="generation: greedy line completion (EM, EM stripped, ES); teacher-forced: one "
                             "forward pass per file: EM, cross-entropy, top-1/top-5 token accuracy (cheap)")
    parser.add_argument("--max-seq-len", type=int, default=0, metavar="TOKENS",
                        help="prompt + generated tokens (default: [preprocessor] max_seq_len, else 16384)")
    parser.add_argument("--max-new-tokens", type=int, default=100, metavar="N",
                        help="generation: at most this many tokens per line (default 100)")
    parser.add_argument("--min-new-tokens", type=int, default=3, metavar="N",
                        help="a newline ends a line only from this many generated tokens on")
    parser.add_argument("--batch-size", type=int, default=0, metavar="N",
                        help="lines of one file decoded together (default 0: as many as free GPU memory allows, "
                             "at most 64; 8 on the CPU)")
    parser.add_argument("--no-prefix-reuse", action="store_true",
                        help="run every line's whole prompt from scratch (slow; for comparison)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where eval.json, eval.png and (generation) "
                                                               "predictions.jsonl go (default: RUN_DIR/eval; "
                                                               "an earlier evaluation there is replaced)")


def run(args: argparse.Namespace) -> int:
    from lca_core.api.errors import ConfigError, ConfigProblem
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.evaluation.build import Plan, eval_window, run_evaluation, started_at
    from lca_core.evaluation.checkpoints import default_checkpoint, resolve_checkpoint
    from lca_core.evaluation.runner import Settings

    config = load(args)
    for flag in ("limit", "max_seq_len", "max_new_tokens", "batch_size", "min_new_tokens"):
        if getattr(args, flag) < 0 or (flag == "max_new_tokens" and getattr(args, flag) == 0):
            raise ConfigError([ConfigProblem(f"--{flag.replace('_', '-')}", f"must be positive, got {getattr(args, flag)}")])
    max_seq_len = eval_window(config, args.max_seq_len, args.max_new_tokens, args.mode)
    settings = Settings(
        mode=args.mode, categories=tuple(dict.fromkeys(args.categories)), max_seq_len=max_seq_len,
        max_new_tokens=args.max_new_tokens, min_new_tokens=args.min_new_tokens, batch_size=args.batch_size,
        prefix_reuse=not args.no_prefix_reuse,
    )
    choices = [resolve_checkpoint(config, spec) for spec in (args.checkpoint or [default_checkpoint(config)])]
    composer_names = list(dict.fromkeys(args.composer or [config.composer.name]))
    registry = get_plugin_manager().registry("composer")
    for name in composer_names:  # fail before any data or weights are loaded
        registry.load(name, path="--composer")
    plan = Plan(settings=settings, choices=choices, composers=composer_names, limit=args.limit,
                out_dir=args.out or config.run_dir / "eval")
    if note := replaced_evaluation(plan.out_dir):
        print(note, file=sys.stderr)
    writer = _Writer(config, plan, started=started_at())
    results, _, _ = run_evaluation(config, plan, progress=not args.no_progress, write=writer)
    writer.finish(results)
    return 0


def replaced_evaluation(out: Path) -> str:
    """A note when ``out`` holds the results of another ``lca-run eval`` command ('' if none, or if it is this
    command's own unfinished run, which is resumed)."""
    import json
    import shlex

    try:
        earlier = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    command = earlier.get("command") if isinstance(earlier, dict) else None
    if not isinstance(command, list) or command == ["lca-run", "eval", *sys.argv[2:]]:
        return ""
    return (f"lca-run eval: replacing the results of `{shlex.join(map(str, command))}` "
            f"({earlier.get('created', 'earlier')}) in {out}; give --out DIR to keep both")


class _Writer:
    """eval.json and predictions.jsonl after every (model, composer) pair; the chart and the table at the end."""

    def __init__(self, config, plan, *, started: str):
        self.config, self.plan, self.started = config, plan, started
        self.comparisons: list[dict] = []  # of the results last written

    def __call__(self, results: list[dict], predictions: list[dict], state: dict) -> None:
        import json

        import attrs

        from lca_core.config.loader import config_to_dict
        from lca_core.evaluation import report

        out = self.plan.out_dir
        out.mkdir(parents=True, exist_ok=True)
        self.comparisons = report.comparisons(results)
        report.write_json(out / "eval.json", {
            "created": self.started, "complete": state["complete"], "command": ["lca-run", "eval", *sys.argv[2:]],
            "run_file": str(self.config.source), "settings": attrs.asdict(self.plan.settings),
            "limit": self.plan.limit, "datapoints": state["datapoints"],
            "hardware": attrs.asdict(state["hardware"]) if state["hardware"] is not None else None,
            "config": config_to_dict(self.config), "results": results,
            "comparisons": self.comparisons,
        })
        if self.plan.settings.mode == "generation":
            report.write_text(out / "predictions.jsonl", "".join(json.dumps(row) + "\n" for row in predictions))
        else:  # teacher forcing generates no text: no predictions file (an earlier run's would not match)
            (out / "predictions.jsonl").unlink(missing_ok=True)

    def finish(self, results: list[dict]) -> None:
        from lca_core.evaluation import report

        out, settings = self.plan.out_dir, self.plan.settings
        title = f"{self.config.run_name}: {settings.mode}, {settings.max_seq_len} tokens"
        report.bar_chart(out / "eval.png", results, title=title)
        print(report.table(results))
        if not any(result["categories"] for result in results):
            print(f"lca-run eval: no {', '.join(settings.categories)} line was scored: the datapoints' completion_lines "
                  "have none of these categories (--categories chooses others)", file=sys.stderr)
        if differences := report.comparison_table(self.comparisons):
            print(f"\n{differences}")
        written = [out / "eval.json", out / "eval.png"]
        if settings.mode == "generation":
            written.append(out / "predictions.jsonl")
        print(f"\nwritten: {', '.join(map(str, written))}")
