"""Training throughput at long context: the project's trainer step against a plain Hugging Face loop.

Both run in this process on the same shape (random weights), one micro-batch of ``--seq`` tokens per
optimizer step. The project side is the real `Trainer.train_step` built from [model]/[trainer] sections
through `choose_hardware` + `load_model` (so per-layer compile, the chunked/Liger loss and activation
checkpointing are exactly what `lca-run` would use). The baseline is what a user writes by hand: bf16,
SDPA, fused AdamW, full logits, ``F.cross_entropy``, clipping at 2.

    python benchmarks/train_throughput.py                                  # DSC-1.3B shape, 16k: hf, hf-tuned, project
    python benchmarks/train_throughput.py --variant hf --variant project:loss=liger --variant project:compile=0
    python benchmarks/train_throughput.py --variant project:shape=dsc-1.3b,seq=131072,ckpt=1,steps=1
    python benchmarks/train_throughput.py --tiny                           # CPU smoke run, seconds

A variant is ``hf`` or ``project`` followed by ``:key=value,...`` overriding ``shape``, ``seq``, ``steps``,
``warmup``, ``compile`` (auto/0/1), ``loss`` (auto/chunked/liger/full), ``ckpt`` (0/1), ``mlp`` (0/1:
``[model] checkpoint_mlp``) and ``fp8`` (0 / tensorwise / rowwise: torchao float8 training of the decoder
layers' linears, project only; needs ``torchao``). The last table
row per shape is compared with that shape's ``hf`` row. MFU counts 6N + 6·L·d·T (causal attention) per
token against 989 TFLOP/s (H100 SXM bf16 dense).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lca_core.training.metrics import PEAK_FLOPS, flops_per_token  # noqa: E402

#: LlamaConfig fields of DeepSeek-Coder-1.3B and OpenCoder-1.5B (random weights; theta does not change the speed)
SHAPES: dict[str, dict[str, Any]] = {
    "dsc-1.3b": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16,
                     intermediate_size=5504, vocab_size=32256, rope_theta=100000.0),
    "opencoder-1.5b": dict(hidden_size=2240, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=14,
                           intermediate_size=6144, vocab_size=96640, rope_theta=10000.0),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=512, rope_theta=10000.0),
}
DEFAULTS = {"shape": "dsc-1.3b", "seq": "16384", "steps": "10", "warmup": "3", "compile": "auto", "loss": "auto",
            "ckpt": "0", "mlp": "0", "fp8": "0"}
VARIANTS = ("hf", "hf-tuned", "project")


class RandomTokens:
    """Preprocessed batches of random tokens with every mask an LCA preprocessor writes."""

    def __init__(self, vocab: int, seq: int, seed: int = 0):
        self.vocab, self.seq, self.seed = vocab, seq, seed

    def __len__(self) -> int:
        return 1 << 20

    def __getitem__(self, indices: list[int]) -> dict[str, Any]:
        import torch

        gen = torch.Generator().manual_seed(self.seed + indices[0])
        tokens = torch.randint(0, self.vocab, (len(indices), self.seq + 1), generator=gen)
        ones = torch.ones(len(indices), self.seq, dtype=torch.bool)
        completion = ones.clone()
        completion[:, : self.seq * 3 // 4] = False  # context:completion 3:1, as the paper's samples
        category = torch.where(completion, torch.arange(self.seq) // 8 % 7, -1)
        return {"input_ids": tokens[:, :-1], "target_ids": tokens[:, 1:], "loss_mask": ones,
                "completion_mask": completion, "category_ids": category, "attention_mask": ones}


class NullLogger:
    def start(self, **_): pass
    def log(self, *_): pass
    def message(self, *_): pass
    def state(self): return {}
    def finish(self, *_): pass


class ConstantLR:
    def lr(self, iteration: int, max_lr: float) -> float:
        return max_lr


def model_config(shape: dict[str, Any], seq: int) -> dict[str, Any]:
    return {**shape, "max_position_embeddings": max(seq, 4096), "attention_dropout": 0.0, "use_cache": False}


def build_project(spec: dict[str, str], device: str, run_dir: Path, *, distributed: Any = None, accum: int = 1,
                  strategy: str = "auto") -> tuple[Any, Any]:
    """(step function, model): `Trainer.train_step` of a trainer built as `lca-run` builds one.

    ``distributed`` (benchmarks/distributed_throughput.py): this process's place in a torchrun job; ``accum`` is
    the global number of micro-batches per step, ``strategy`` ddp | fsdp."""
    import torch

    from lca_core.config.model import ModelSection
    from lca_core.config.training import CheckpointingSection, TrainerSection
    from lca_core.models.hardware import choose_hardware
    from lca_core.models.loading import load_model
    from lca_core.training.checkpoint import CheckpointManager
    from lca_core.training.trainer import Trainer

    compile_: Any = {"auto": "auto", "0": False, "1": True}[spec["compile"]]
    model_section = ModelSection(name_or_path="llama", random_init=True,
                                 config=model_config(SHAPES[spec["shape"]], int(spec["seq"])),
                                 dtype="bfloat16" if device.startswith("cuda") else "float32", attn_implementation="sdpa",
                                 compile=compile_, gradient_checkpointing=spec["ckpt"] == "1", device=device,
                                 checkpoint_mlp=spec["mlp"] == "1")
    trainer_kwargs: dict[str, Any] = dict(max_iters=1 << 30, micro_batch_size=1, gradient_accumulation_steps=accum,
                                          learning_rate=1e-5, valid_freq=0, shuffle=False, max_grad_norm=2.0)
    if "loss_impl" in {f.name for f in __import__("attrs").fields(TrainerSection)}:
        trainer_kwargs["loss_impl"] = spec["loss"]
    if distributed is not None:
        trainer_kwargs["strategy"] = strategy
    config = SimpleNamespace(run=SimpleNamespace(seed=0), model=model_section, trainer=TrainerSection(**trainer_kwargs),
                             checkpointing=CheckpointingSection(freq=0), run_dir=run_dir)
    hardware = choose_hardware(model_section)
    with torch.device(device):  # random init straight on the GPU: seconds instead of a minute on the CPU
        model = load_model(config, hardware)
    if spec["fp8"] != "0":
        # the layers were given compile() in load_model, but Dynamo traces them at their first call: now
        to_float8(model, spec["fp8"])
    trainer = Trainer(config=config, model=model, tokenizer=None, hardware=hardware,
                      train_data=RandomTokens(model.config.vocab_size, int(spec["seq"])), valid_data=None,
                      scheduler=ConstantLR(), logger=NullLogger(), checkpoints=CheckpointManager(run_dir / "ckpt"),
                      progress=False, **({"distributed": distributed} if distributed is not None else {}))
    return trainer.train_step, model


def to_float8(model: Any, recipe: str) -> None:
    """torchao's float8 training (dynamic scaling; ``recipe`` tensorwise / rowwise) for every decoder-layer
    linear whose sizes the FP8 matrix product takes (multiples of 16); the output projection stays bf16
    (the fused loss reads its weight directly)."""
    from torchao.float8 import Float8LinearConfig, convert_to_float8_training

    from lca_core.models.compile import decoder_layers

    config = Float8LinearConfig.from_recipe_name({"1": "tensorwise"}.get(recipe, recipe))
    for layer in decoder_layers(model):
        convert_to_float8_training(layer, config=config, module_filter_fn=lambda module, fqn: (
            module.in_features % 16 == 0 and module.out_features % 16 == 0))


def build_hf(spec: dict[str, str], device: str, *, tuned: bool = False) -> tuple[Any, Any]:
    """(step function, model): the plain loop, full logits and F.cross_entropy.

    ``tuned`` (variant ``hf-tuned``): what a user writes by hand in an afternoon on top of it — every
    decoder layer compiled (``layer.compile()``) and Liger-Kernel's fused linear cross-entropy on the
    final hidden states, so that no full-vocabulary logits exist."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoConfig, AutoModelForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    cfg = AutoConfig.for_model("llama", **model_config(SHAPES[spec["shape"]], int(spec["seq"])))
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa", dtype=dtype)
    if spec["ckpt"] == "1":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    flce = None
    if tuned:
        from liger_kernel.transformers.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyLoss

        for layer in model.model.layers:
            layer.compile()
        flce = LigerFusedLinearCrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01, fused=device == "cuda")
    data = RandomTokens(cfg.vocab_size, int(spec["seq"]))
    position = [0]

    def step() -> dict[str, float]:
        batch = data[[position[0]]]
        position[0] += 1
        ids, targets = batch["input_ids"].to(device), batch["target_ids"].to(device)
        if flce is not None:
            hidden = model.model(input_ids=ids).last_hidden_state
            loss = flce(model.lm_head.weight, hidden.view(-1, hidden.shape[-1]), targets.view(-1))
        else:
            logits = model(input_ids=ids).logits
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {"cross_entropy": loss.item()}

    return step, model


def run_variant(name: str, spec: dict[str, str], device: str, run_dir: Path, profile_dir: Path | None) -> dict[str, Any]:
    import torch

    cuda = device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    build_started = time.perf_counter()
    step, model = build_project(spec, device, run_dir) if name == "project" else \
        build_hf(spec, device, tuned=name == "hf-tuned")
    num_params = sum(p.numel() for p in model.parameters())
    warm_started = time.perf_counter()
    for _ in range(int(spec["warmup"])):
        metrics = step()
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(int(spec["steps"])):
        metrics = step()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    seq = int(spec["seq"])
    cfg = model.config
    tok_s = seq * int(spec["steps"]) / elapsed
    row = {"variant": name, **spec, "params": num_params, "tokens_per_second": tok_s,
           "mfu": tok_s * flops_per_token(num_params, cfg.num_hidden_layers, cfg.hidden_size, seq) / PEAK_FLOPS,
           "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"),
           "final_ce": metrics.get("cross_entropy"), "build_s": warm_started - build_started,
           "warmup_s": started - warm_started, "step_metrics": {k: v for k, v in metrics.items()
                                                                 if k in ("tokens_per_second", "mfu", "peak_memory_gib")}}
    if profile_dir is not None:
        row["profile"] = profile_step(step, profile_dir / f"profile_{name}_{spec['shape']}_{seq}.txt", cuda)
    del step, model
    gc.collect()
    return row


def profile_step(step: Any, path: Path, cuda: bool) -> dict[str, float]:
    """One step under torch.profiler: where the device time goes, by kernel family; full table to ``path``."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    started = time.perf_counter()
    with profile(activities=activities) as prof:
        step()
        if cuda:
            torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - started) * 1e3
    # attention first: cuDNN/flash kernel names also contain "sm90"/"cutlass"
    families = {"nccl (communication)": ("nccl",), "attention": ("flash", "fmha", "attention", "sdpa"), "gemm": ("gemm", "cutlass", "nvjet", "xmma", "sm90_"),
                "optimizer": ("multi_tensor", "adam"), "triton (compiled)": ("triton",),
                "norm/elementwise (eager)": ("elementwise", "reduce", "vectorized", "unrolled", "softmax", "cat", "copy")}
    totals = {family: 0.0 for family in families} | {"other": 0.0}
    events = [e for e in prof.key_averages() if getattr(e, "device_type", None) is not None
              and str(e.device_type).endswith("CUDA")] if cuda else []
    for event in events:
        key = event.key.lower()
        family = next((f for f, words in families.items() if any(w in key for w in words)), "other")
        totals[family] += event.self_device_time_total / 1e3
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.key_averages().table(sort_by=sort, row_limit=40, max_name_column_width=90))
    kernel_ms = sum(totals.values())
    # NCCL kernels run on their own stream beside the compute: wall - compute is the time no compute kernel ran
    compute_ms = kernel_ms - totals["nccl (communication)"]
    return {"wall_ms": wall_ms, "kernel_ms": kernel_ms, "compute_ms": compute_ms,
            **{f"{k}_ms": v for k, v in totals.items()}}


def gpu_check(device: str) -> list[dict[str, Any]]:
    """The fused losses against full logits on one bf16 batch: relative errors of loss and gradients."""
    import torch
    import torch.nn.functional as F

    from lca_core.training.loss import liger_available, linear_cross_entropy, liger_linear_cross_entropy

    torch.manual_seed(1)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    rows, dim, vocab = (8192, 2048, 32256) if device == "cuda" else (256, 32, 301)
    hidden = torch.randn(rows, dim, device=device, dtype=dtype) * 2
    weight = (torch.randn(vocab, dim, device=device, dtype=dtype) / dim**0.5)
    targets = torch.randint(0, vocab, (rows,), device=device)
    mask = torch.rand(rows, device=device) < 0.7

    def grads(fn):
        h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
        loss = fn(h, w)
        loss.backward()
        return loss.detach().float(), h.grad.float(), w.grad.float()

    def full(h, w):
        ce = F.cross_entropy((h @ w.t()).float(), targets, reduction="none")
        return (ce * mask).sum() / mask.sum()

    weights = mask.float() / mask.sum()
    impls = {"chunked": lambda h, w: linear_cross_entropy(h, w, targets, weights, loss_mask=mask,
                                                          loss_rows=int(mask.sum()))[0]}
    if device == "cuda" and liger_available():
        impls["liger"] = lambda h, w: liger_linear_cross_entropy(h, w, targets, mask, 1.0 / float(mask.sum()))
    reference = grads(full)
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    return [{"impl": name, "loss_rel": rel(got[0], reference[0]), "grad_hidden_rel": rel(got[1], reference[1]),
             "grad_weight_rel": rel(got[2], reference[2])} for name, got in ((n, grads(f)) for n, f in impls.items())]


def parse_variant(text: str, defaults: dict[str, str]) -> tuple[str, dict[str, str]]:
    name, _, rest = text.partition(":")
    if name not in VARIANTS:
        raise SystemExit(f"unknown variant '{name}': use hf, hf-tuned or project[:key=value,...]")
    spec = dict(defaults)
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in spec:
            raise SystemExit(f"unknown variant key '{key}' in '{text}': one of {', '.join(spec)}")
        spec[key] = value
    if spec["shape"] not in SHAPES:
        raise SystemExit(f"unknown shape '{spec['shape']}': one of {', '.join(SHAPES)}")
    return name, spec


def environment(device: str) -> dict[str, str]:
    import subprocess

    import torch
    import transformers

    env = {"torch": torch.__version__, "transformers": transformers.__version__, "device": device}
    if device == "cuda":
        env["card"] = torch.cuda.get_device_name()
    try:
        import triton

        env["triton"] = triton.__version__
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        env["liger_kernel"] = version("liger-kernel")
    except Exception:  # noqa: BLE001 - optional package
        pass
    try:
        env["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        pass
    return env


def print_table(rows: list[dict[str, Any]]) -> None:
    baseline = {r["shape"] + r["seq"]: r["tokens_per_second"] for r in rows if r["variant"] == "hf" and "error" not in r}
    tuned = {r["shape"] + r["seq"]: r["tokens_per_second"] for r in rows if r["variant"] == "hf-tuned" and "error" not in r}
    print(f"{'variant':<8} {'shape':<15} {'seq':>6} {'comp':>4} {'loss':>7} {'ckpt':>4} {'tok/s':>9} {'MFU':>5} "
          f"{'peak GiB':>8} {'vs hf':>6} {'vs tuned':>8}")
    for r in rows:
        if "error" in r:
            print(f"{r['variant']:<8} {r['shape']:<15} {r['seq']:>6} {r['compile']:>4} {r['loss']:>7} {r['ckpt']:>4} "
                  f"ERROR {r['error']}")
            continue
        base, peer = baseline.get(r["shape"] + r["seq"]), tuned.get(r["shape"] + r["seq"])
        ratio = f"{r['tokens_per_second'] / base:.2f}x" if base else "-"
        vs_tuned = f"{r['tokens_per_second'] / peer:.2f}x" if peer else "-"
        loss = {"project": r["loss"], "hf": "full", "hf-tuned": "liger"}[r["variant"]]
        if r.get("fp8", "0") != "0":
            loss += "+fp8"
        ckpt = "mlp" if r.get("mlp") == "1" else r["ckpt"]
        print(f"{r['variant']:<8} {r['shape']:<15} {r['seq']:>6} {r['compile']:>4} {loss:>7} {ckpt:>4} "
              f"{r['tokens_per_second']:>9.0f} {r['mfu']:>5.1%} {r['peak_memory_gib']:>8.1f} {ratio:>6} {vs_tuned:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help="hf | project[:key=value,...] (repeatable)")
    parser.add_argument("--shape", default=None, choices=sorted(SHAPES))
    parser.add_argument("--seq", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run: tiny shape, 128 tokens, 2 steps")
    parser.add_argument("--check", action="store_true", help="first compare the fused losses with full logits")
    parser.add_argument("--profile", action="store_true", help="profile one extra step of each project variant")
    parser.add_argument("--out", type=Path, default=None, help="folder for results.jsonl and profiles")
    args = parser.parse_args(argv)

    import torch

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    defaults = dict(DEFAULTS)
    if args.tiny:
        defaults.update(shape="tiny", seq="128", steps="2", warmup="1", compile="0")
    for key in ("shape", "seq", "steps", "warmup"):
        if getattr(args, key) is not None:
            defaults[key] = str(getattr(args, key))
    default_variants = ["hf", "hf-tuned", "project"] if device == "cuda" else ["hf", "project"]
    variants = [parse_variant(v, defaults) for v in (args.variant or default_variants)]
    out = args.out
    env = environment(device)
    print(json.dumps(env), flush=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if args.check:
        for row in gpu_check(device):
            print("check", json.dumps(row), flush=True)
            if out is not None:
                with (out / "results.jsonl").open("a") as f:
                    f.write(json.dumps({"check": row, **env}) + "\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in variants:
            try:
                row = run_variant(name, spec, device, Path(tmp), out if args.profile and name == "project" else None)
            except Exception as exc:  # noqa: BLE001 - an OOM in one variant must not lose the others
                traceback.print_exc()
                row = {"variant": name, **spec, "error": f"{type(exc).__name__}: {str(exc)[:160]}"}
                gc.collect()
            print(json.dumps(row), flush=True)
            rows.append(row)
            if out is not None:
                with (out / "results.jsonl").open("a") as f:
                    f.write(json.dumps({**row, **env}) + "\n")
    print_table(rows)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
