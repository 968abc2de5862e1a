"""Do the fast decoding paths predict what the plain one does, with a real model on real data?

For the first ``--limit`` datapoints of a run file's [data], composed by ``--composer``, every scored line
is completed three ways with the model of [model]: without prefix reuse (each prompt from scratch through
the model's own modules: the reference), with prefix reuse through the model's own modules, and with
prefix reuse through `FusedLlama` (the default for Llama models). Prints, per way, the seconds per line
and how many lines give the reference's text. In float32 all three agree (tests/perf/test_benchmark.py); in bfloat16
different kernels round differently, and a near-tie between two tokens can turn a greedy line.

    python benchmarks/eval_agreement.py examples/smollm2-135m-gguf.toml --max-seq-len 8192 --limit 4 \\
        data.path=lca-sample.parquet
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

WAYS = {"reference (no prefix reuse)": dict(prefix_reuse=False),
        "prefix reuse, model's own modules": dict(prefix_reuse=True, fused_layers=False),
        "prefix reuse, fused layers (default)": dict(prefix_reuse=True, fused_layers=True)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("run_file", type=Path)
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the run file, as for lca-run")
    parser.add_argument("--composer", default=None, help="default: the run file's [composer]")
    parser.add_argument("--limit", type=int, default=4, help="datapoints")
    parser.add_argument("--max-seq-len", type=int, default=0, help="default: [preprocessor] max_seq_len")
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_intermixed_args()  # overrides may come after the options


def main() -> None:
    import torch

    from lca_core.api.errors import RunError
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.config.loader import load_run_config
    from lca_core.evaluation.build import build_composer, eval_datapoints, eval_window, load_eval_model
    from lca_core.evaluation.checkpoints import ModelChoice
    from lca_core.evaluation.generate import LineCompleter
    from lca_core.evaluation.runner import DEFAULT_CATEGORIES, full_context, scored_lines

    args = parse_args()
    config = load_run_config(args.run_file, args.overrides)
    name = args.composer or config.composer.name
    get_plugin_manager().registry("composer").load(name, path="--composer")  # before any weights are loaded
    window = eval_window(config, args.max_seq_len, args.max_new_tokens)
    model, tokenizer, hardware = load_eval_model(config, ModelChoice("base", None))
    composer = build_composer(config, name, tokenizer)
    files, datapoints = [], eval_datapoints(config, args.limit)
    for index, datapoint in enumerate(datapoints):
        composed = composer.compose(datapoint)
        lines = sorted({line for line, _ in scored_lines(composed, DEFAULT_CATEGORIES, index=index)})
        if lines:
            files.append((full_context(composed), composed["composed_completion"], lines))
    if not files:
        raise RunError(f"no scored {'/'.join(DEFAULT_CATEGORIES)} line in the first {args.limit} datapoints: "
                       "raise --limit")
    print(f"{len(files)} of {len(datapoints)} datapoints have scored {'/'.join(DEFAULT_CATEGORIES)} lines "
          f"({sum(len(f[2]) for f in files)} lines), window {window} tokens, {model.dtype} on {hardware.device}",
          flush=True)
    results = {"device": str(hardware.device), "dtype": str(model.dtype), "window": window, "files": len(files),
               "lines": sum(len(f[2]) for f in files), "torch": torch.__version__, "ways": {}}
    reference = None
    for name, options in WAYS.items():
        completer = LineCompleter(model=model, tokenizer=tokenizer, max_seq_len=window,
                                  max_new_tokens=args.max_new_tokens, **options)
        started = time.perf_counter()
        predicted = [p for context, completion, lines in files for p in completer.complete(context, completion, lines)]
        seconds = time.perf_counter() - started
        reference = reference or predicted
        same = sum(a == b for a, b in zip(reference, predicted))
        results["ways"][name] = {"seconds_per_line": round(seconds / len(predicted), 4),
                                 "same_as_reference": f"{same}/{len(predicted)}"}
        print(f"{name:<40} {seconds / len(predicted):.4f} s/line, same text as the reference: {same}/{len(predicted)}",
              flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    import sys

    from lca_core.api.errors import ConfigError, RunError

    try:
        main()
    except ConfigError as exc:  # what the run file or the options got wrong: one message, exit 2 as lca-run does
        print(f"eval_agreement.py: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except RunError as exc:
        print(f"eval_agreement.py: {exc}", file=sys.stderr)
        sys.exit(1)
