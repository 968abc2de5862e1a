"""``lca-run eval RUN.toml``: line-completion exact match and edit similarity per category, composers side by side."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
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
                             "forward pass per file, exact match only (cheap)")
    parser.add_argument("--max-seq-len", type=int, default=0, metavar="TOKENS",
                        help="prompt + generated tokens (default: [preprocessor] max_seq_len, else 16384)")
    parser.add_argument("--max-new-tokens", type=int, default=100, metavar="N")
    parser.add_argument("--min-new-tokens", type=int, default=3, metavar="N",
                        help="a newline ends a line only from this many generated tokens on")
    parser.add_argument("--batch-size", type=int, default=0, metavar="N",
                        help="lines of one file decoded together (default 0: as many as free GPU memory allows, "
                             "at most 64; 8 on the CPU)")
    parser.add_argument("--no-prefix-reuse", action="store_true",
                        help="run every line's whole prompt from scratch (slow; for comparison)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where eval.json, eval.png and predictions.jsonl go "
                                                               "(default: RUN_DIR/eval)")


def run(args: argparse.Namespace) -> int:
    import attrs

    from lca_core.api.components import resolved_params
    from lca_core.api.errors import ConfigError, ConfigProblem
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.config.loader import config_to_dict
    from lca_core.evaluation import report
    from lca_core.evaluation.checkpoints import default_checkpoint, resolve_checkpoint
    from lca_core.evaluation.runner import Settings

    config = load(args)
    for flag in ("limit", "max_seq_len", "max_new_tokens", "batch_size", "min_new_tokens"):
        if getattr(args, flag) < 0 or (flag == "max_new_tokens" and getattr(args, flag) == 0):
            raise ConfigError([ConfigProblem(f"--{flag.replace('_', '-')}", f"must be positive, got {getattr(args, flag)}")])
    max_seq_len = args.max_seq_len or config.preprocessor.instance.max_seq_len
    if max_seq_len <= args.max_new_tokens:
        raise ConfigError([ConfigProblem("--max-seq-len", f"{max_seq_len} leaves no room for the prompt with "
                                                          f"--max-new-tokens {args.max_new_tokens}")])
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
    out_dir = args.out or config.run_dir / "eval"

    datapoints = _datapoints(config, args.limit)
    print(f"evaluating {len(datapoints)} datapoints × {len(composer_names)} composer(s) × {len(choices)} model(s); "
          f"{settings.mode}, categories {', '.join(settings.categories)}, {max_seq_len} tokens", file=sys.stderr)

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results, predictions, hardware = [], [], None
    for choice in choices:
        model, tokenizer, hardware = _load(config, choice)
        composers = _composers(config, composer_names, tokenizer)
        for name, composer in composers.items():
            result, lines = _evaluate_one(model, tokenizer, composer, datapoints, settings,
                                          label=f"{choice.label} · {name}")
            result.update(model=choice.label, model_dir=str(choice.model_dir or config.model.name_or_path),
                          composer=name, composer_params=resolved_params(composer))
            results.append(result)
            predictions += [{"model": choice.label, "composer": name, **attrs.asdict(p)} for p in lines]
        del model

    out_dir.mkdir(parents=True, exist_ok=True)
    title = (f"{config.run_name}: {settings.mode}, {len(datapoints)} datapoints, {max_seq_len} tokens")
    report.write_json(out_dir / "eval.json", {
        "created": started, "command": ["lca-run", "eval", *sys.argv[2:]], "run_file": str(config.source),
        "settings": attrs.asdict(settings), "datapoints": len(datapoints),
        "hardware": attrs.asdict(hardware) if hardware is not None else None,
        "config": config_to_dict(config), "results": results,
    })
    with open(out_dir / "predictions.jsonl", "w", encoding="utf-8") as handle:
        import json

        for row in predictions:
            handle.write(json.dumps(row) + "\n")
    report.bar_chart(out_dir / "eval.png", results, title=title)
    print(report.table(results))
    print(f"\nwritten: {out_dir / 'eval.json'}, {out_dir / 'eval.png'}, {out_dir / 'predictions.jsonl'}")
    return 0


def _datapoints(config, limit: int) -> list[dict]:
    from lca_core.data.loading import load_datapoints

    dataset = load_datapoints(config)
    if limit:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return list(dataset)


def _load(config, choice):
    """Model, tokenizer and hardware for one --checkpoint choice; never compiled (decode shapes change every step)."""
    import attrs

    from lca_core.models.loading import choose_hardware, load_model, load_tokenizer

    hardware = attrs.evolve(choose_hardware(config.model), compile=False, gradient_checkpointing=False)
    has_tokenizer = choice.model_dir is not None and any(
        (choice.model_dir / name).exists() for name in ("tokenizer.json", "tokenizer_config.json"))
    tokenizer = load_tokenizer(config, from_dir=choice.model_dir if has_tokenizer else None)
    model = load_model(config, hardware, tokenizer=tokenizer, from_dir=choice.model_dir)
    model.eval()
    return model, tokenizer, hardware


def _composers(config, names: list[str], tokenizer) -> dict:
    """Build each composer: the run's [composer] table for its own name, defaults for the others."""
    from lca_core.api.components import Runtime
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.config.schema import ComponentConfig

    manager = get_plugin_manager()
    runtime = Runtime(seed=config.run.seed, run_dir=config.run_dir, tokenizer=tokenizer, config=config)
    out = {}
    for name in names:
        params = config.composer.params if name == config.composer.name else {}
        out[name] = ComponentConfig(kind="composer", name=name, params=params).build(runtime, manager=manager)
    return out


def _evaluate_one(model, tokenizer, composer, datapoints, settings, *, label: str) -> tuple[dict, list]:
    from tqdm import tqdm

    from lca_core.evaluation.metrics import aggregate
    from lca_core.evaluation.runner import evaluate_model

    known = "random" not in settings.categories  # random is recomputed by composers: count it as we go
    total = sum(len(d["completion_lines"].get(c, [])) for d in datapoints for c in settings.categories) if known else None
    start = time.perf_counter()
    with tqdm(total=total, desc=label, unit="line", file=sys.stderr, dynamic_ncols=True) as bar:
        scores, lines = evaluate_model(model, tokenizer, composer, datapoints, settings, on_lines=bar.update)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "seconds_per_line": round(seconds / max(len(scores), 1), 4),
        "categories": aggregate(scores),
    }, lines
