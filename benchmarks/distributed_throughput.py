"""Training throughput on 1 and N GPUs: the project's Trainer under DDP and FSDP2, tokens/s, scaling, peak memory per GPU.

Run once per world size under torchrun; every run appends its rows to ``--out/results.jsonl`` and the last
one prints the table of all rows (scaling = N-GPU tokens/s ÷ (N × 1-GPU tokens/s) at the same micro-batches
per GPU, i.e. the global accumulation times N):

    OUT=results; python benchmarks/distributed_throughput.py --out $OUT --accum 1 --accum 4
    torchrun --standalone --nproc_per_node 2 benchmarks/distributed_throughput.py --out $OUT --accum 1 --accum 4 \\
        --strategy ddp --strategy fsdp --table
    python benchmarks/distributed_throughput.py --tiny ...        # CPU + gloo smoke run (tiny shape, 128 tokens)

``--accum`` is micro-batches per GPU per step (the run file's global gradient_accumulation_steps is that × N).
Each variant builds the real `Trainer` (random weights of the DSC-1.3B shape, bf16, SDPA, chunked loss,
per-layer compile as `lca-run` does by default; ``--compile 0`` for eager) through
`benchmarks/train_throughput.py:build_project`, warms up, then times ``--steps`` optimizer steps.
``--profile`` runs one more step per variant under torch.profiler on every rank and writes where each
GPU's time went (matrix products, attention, NCCL, ...) to ``--out/profile_<gpus>_<strategy>_rank<r>.txt``
and the row: comparing the 1-GPU and N-GPU rows shows whether scaling is lost to communication that
is not hidden behind compute, or to compute kernels slowed by the communication running beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_throughput import DEFAULTS, build_project, environment, profile_step  # noqa: E402


def run_variant(spec: dict[str, str], run: Any, device: str, strategy: str, accum: int, steps: int,
                warmup: int, profile_dir: Path | None = None) -> dict[str, Any]:
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(0)  # the same random weights on every rank
    with tempfile.TemporaryDirectory() as tmp:
        step, model = build_project(spec, device, Path(tmp), distributed=run, accum=accum * run.world_size,
                                    strategy=strategy)
        for _ in range(warmup):
            step()
        if cuda:
            torch.cuda.synchronize()
        run.barrier()
        started = time.perf_counter()
        for _ in range(steps):
            metrics = step()
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        profile = None
        if profile_dir is not None:
            name = f"profile_{run.world_size}_{strategy if run.enabled else 'single'}_accum{accum}_rank{run.rank}.txt"
            profile = {k: round(v, 1) for k, v in profile_step(step, profile_dir / name, cuda).items()}
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    peaks = run.all_gather_object(round(peak, 2))
    profiles = run.all_gather_object(profile)
    tokens = int(spec["seq"]) * accum * run.world_size * steps
    del step, model
    gc.collect()
    return {"gpus": run.world_size, "strategy": strategy if run.enabled else "single", "accum_per_gpu": accum,
            "seq": int(spec["seq"]), "shape": spec["shape"], "tokens_per_second": tokens / elapsed,
            "peak_memory_gib_per_gpu": peaks, "final_ce": metrics.get("cross_entropy"), "steps": steps,
            "compile": spec["compile"], **({"profile_per_rank": profiles} if profile is not None else {})}


def print_table(rows: list[dict[str, Any]]) -> None:
    single = {(r["shape"], r["seq"], r["accum_per_gpu"]): r["tokens_per_second"] for r in rows if r["gpus"] == 1}
    print(f"{'gpus':>4} {'strategy':<8} {'accum/gpu':>9} {'tok/s':>9} {'tok/s/gpu':>9} {'scaling':>8}  peak GiB per GPU")
    for r in rows:
        base = single.get((r["shape"], r["seq"], r["accum_per_gpu"]))
        scaling = f"{r['tokens_per_second'] / (r['gpus'] * base):.1%}" if base and r["gpus"] > 1 else "-"
        print(f"{r['gpus']:>4} {r['strategy']:<8} {r['accum_per_gpu']:>9} {r['tokens_per_second']:>9.0f} "
              f"{r['tokens_per_second'] / r['gpus']:>9.0f} {scaling:>8}  {', '.join(map(str, r['peak_memory_gib_per_gpu']))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of results.jsonl (shared by the runs)")
    parser.add_argument("--accum", type=int, action="append", help="micro-batches per GPU per step (repeatable)")
    parser.add_argument("--strategy", action="append", choices=("ddp", "fsdp"), help="under torchrun (repeatable)")
    parser.add_argument("--shape", default="dsc-1.3b")
    parser.add_argument("--seq", type=int, default=16384)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="CPU/gloo smoke run: tiny shape, 128 tokens")
    parser.add_argument("--table", action="store_true", help="print the table of every row in --out")
    parser.add_argument("--compile", default="auto", choices=("auto", "0", "1"),
                        help="per-layer compile as lca-run does (auto, the default) or eager (0)")
    parser.add_argument("--profile", action="store_true", help="profile one more step per variant on every rank")
    args = parser.parse_args(argv)

    import torch

    from lca_core.training.distributed import init_distributed, shutdown

    cuda = torch.cuda.is_available() and not args.tiny
    import os

    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = f"cuda:{local_rank}" if cuda else "cpu"
    run = init_distributed(device)
    spec = dict(DEFAULTS, shape="tiny" if args.tiny else args.shape, seq="128" if args.tiny else str(args.seq),
                compile="0" if args.tiny else args.compile, loss="auto")
    env = environment("cuda" if cuda else "cpu")
    rows = []
    for strategy in (args.strategy or ["ddp"]) if run.enabled else ["single"]:
        for accum in args.accum or [1]:
            row = run_variant(spec, run, device, strategy, accum, args.steps, args.warmup,
                              args.out if args.profile else None)
            rows.append(row)
            if run.is_main:
                print(json.dumps(row), flush=True)
    if run.is_main:
        args.out.mkdir(parents=True, exist_ok=True)
        with (args.out / "results.jsonl").open("a") as handle:
            for row in rows:
                handle.write(json.dumps({**row, **env}) + "\n")
        if args.table:
            print(json.dumps(env))
            all_rows = [json.loads(line) for line in (args.out / "results.jsonl").read_text().splitlines()]
            print_table(all_rows)
    shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
