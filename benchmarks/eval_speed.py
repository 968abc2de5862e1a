"""Per-line latency of line-completion evaluation, with and without prefix reuse, at LCA-like shapes.

Default shape: DeepSeek-Coder-1.3B (LlamaConfig: hidden 2048, 24 layers, 16 heads, intermediate 5504,
vocab 32256, rope theta 100000), random weights, bf16, SDPA, on the first GPU, one prompt window of
16,384 tokens per file: the composed context fills what the file prefix of the last scored line
leaves free. Every line decodes exactly ``--new-tokens`` tokens (min = max new tokens), so random
weights do the same work in both modes as a real model stopping at the end of a line would.

    python benchmarks/eval_speed.py                 # GPU, the numbers for benchmarks/RESULTS.md
    python benchmarks/eval_speed.py --tiny          # CPU smoke test, a few seconds

Prints one line per mode and a JSON object with every number (``--json PATH`` writes it too).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

DSC_1P3B = dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16,
                intermediate_size=5504, vocab_size=32256, rope_theta=100000.0, max_position_embeddings=16384)
#: SmolLM2-135M's shape (the real model of the evaluation examples), for its per-step costs with random weights
SMOLLM2_135M = dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                    intermediate_size=1536, vocab_size=49152, rope_theta=100000.0, max_position_embeddings=8192)
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
            intermediate_size=128, vocab_size=2048, rope_theta=100000.0, max_position_embeddings=1024)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model and short window, on CPU (smoke test)")
    parser.add_argument("--seq-len", type=int, default=16384, help="prompt window per file, tokens")
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--lines", type=int, default=20, help="scored lines per file (LCA: about 20 infile+inproject)")
    parser.add_argument("--file-tokens", type=int, default=2000, help="tokens of the completion file before its last scored line")
    parser.add_argument("--new-tokens", type=int, default=16, help="tokens decoded per line")
    parser.add_argument("--batch-sizes", default="0,8,20",
                        help="prefix-reuse batch sizes to time (0: the default, chosen from free GPU memory)")
    parser.add_argument("--no-graphs", action="store_true", help="also time the default batch without CUDA graphs")
    parser.add_argument("--unfused", action="store_true",
                        help="also time the default batch through the model's own modules (not FusedLlama)")
    parser.add_argument("--shape", default="dsc-1.3b", choices=("dsc-1.3b", "smollm2-135m"))
    parser.add_argument("--profile", type=Path, default=None,
                        help="profile the last file of the default batch (torch.profiler table to this file)")
    parser.add_argument("--baseline-lines", type=int, default=8, help="lines per file timed without prefix reuse (slow)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.tiny:
        args.seq_len, args.files, args.lines, args.file_tokens = 512, 1, 4, 120
        args.new_tokens, args.batch_sizes, args.baseline_lines = 4, "0,1,4", 4
    return args


def build(args):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from lca_core.models.local_tokenizer import build_local_tokenizer

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    shape = TINY if args.tiny else {"dsc-1.3b": DSC_1P3B, "smollm2-135m": SMOLLM2_135M}[args.shape]
    torch.manual_seed(0)
    config = LlamaConfig(**shape, attention_dropout=0.0, bos_token_id=0, eos_token_id=1, pad_token_id=2)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=dtype).eval()
    # A real byte-level BPE for decoding and the newline mask; prompt ids are drawn from its vocabulary.
    text = Path(__file__).read_text() + Path(torch.__file__).read_text()
    tokenizer = build_local_tokenizer([text] * 4, Path(tempfile.mkdtemp(prefix="eval-speed-tok-")), vocab_size=1024)
    return model, tokenizer, device


def prompts(args, tokenizer, seed: int):
    """A context and nested file prefixes (the lines of one file), all ids inside the tokenizer's vocabulary."""
    rng = random.Random(seed)
    vocab = len(tokenizer)
    newline = tokenizer("\n", add_special_tokens=False).input_ids[-1]
    file_ids = [rng.randrange(3, vocab) for _ in range(args.file_tokens)]
    cuts = sorted(rng.sample(range(args.file_tokens // 10, args.file_tokens), args.lines - 1)) + [args.file_tokens]
    prefixes = [file_ids[:cut] + [newline] for cut in cuts]
    context = [0] + [rng.randrange(3, vocab) for _ in range(args.seq_len - args.new_tokens - len(prefixes[-1]) - 1)]
    return context, prefixes


def timed(completer, context, prefixes, device) -> tuple[float, list[str]]:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    predictions = completer.complete_ids(context, prefixes)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, predictions


def main() -> None:
    import torch

    from lca_core.evaluation.generate import LineCompleter

    args = parse_args()
    model, tokenizer, device = build(args)
    files = [prompts(args, tokenizer, seed) for seed in range(args.files)]
    common = dict(model=model, tokenizer=tokenizer, max_seq_len=args.seq_len, max_new_tokens=args.new_tokens,
                  min_new_tokens=args.new_tokens)
    modes = [("baseline (no prefix reuse)", dict(prefix_reuse=False, batch_size=1), args.baseline_lines)]
    modes += [(f"prefix reuse, batch {b if int(b) else 'auto (default)'}", dict(prefix_reuse=True, batch_size=int(b)),
               args.lines) for b in args.batch_sizes.split(",")]
    if args.no_graphs:
        modes.append(("prefix reuse, batch auto, no CUDA graph", dict(prefix_reuse=True, cuda_graphs=False), args.lines))
    if args.unfused:
        modes.append(("prefix reuse, batch auto, unfused layers", dict(prefix_reuse=True, fused_layers=False), args.lines))

    warm = LineCompleter(**common, prefix_reuse=True, batch_size=2)
    timed(warm, files[0][0], files[0][1][:2], device)  # CUDA context, kernels, allocator
    del warm

    results = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "dtype": str(model.dtype),
               "shape": model.config.to_diff_dict(), "seq_len": args.seq_len, "files": args.files,
               "lines_per_file": args.lines, "new_tokens_per_line": args.new_tokens,
               "torch": torch.__version__, "modes": {}}
    baseline_predictions = None
    for name, options, lines in modes:
        completer = LineCompleter(**common, **options)
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        seconds, predicted = 0.0, []
        for number, (context, prefixes) in enumerate(files):
            if args.profile and options.get("batch_size") == 0 and number == len(files) - 1:
                from torch.profiler import ProfilerActivity, profile

                with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                    took, predictions = timed(completer, context, prefixes[:lines], device)
                args.profile.write_text(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=40,
                                                                  max_name_column_width=80))
            else:
                took, predictions = timed(completer, context, prefixes[:lines], device)
            seconds += took
            predicted.append(predictions)
        scored = lines * args.files
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
        row = {"seconds_per_line": seconds / scored, "lines": scored, "peak_gib": round(peak, 2),
               "decoding": {k: round(v, 4) for k, v in completer.stats.items()}}
        if baseline_predictions is None:
            baseline_predictions = predicted
        else:  # the lines the baseline also ran: do both give the same text?
            pairs = [(a, b) for base, mine in zip(baseline_predictions, predicted) for a, b in zip(base, mine)]
            row["same_as_baseline"] = f"{sum(a == b for a, b in pairs)}/{len(pairs)}"
        results["modes"][name] = row
        del completer
        print(f"{name:<42} {seconds / scored:8.4f} s/line  ({scored} lines, peak {peak:.1f} GiB"
              + (f", same as baseline {row['same_as_baseline']}" if "same_as_baseline" in row else "") + ")",
              flush=True)
        print(f"    {row['decoding']}", flush=True)
    base = results["modes"][modes[0][0]]["seconds_per_line"]
    for name in list(results["modes"])[1:]:
        results["modes"][name]["speedup_vs_baseline"] = round(base / results["modes"][name]["seconds_per_line"], 2)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
