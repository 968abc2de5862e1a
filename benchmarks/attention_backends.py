"""Causal attention forward and backward at a training shape, per kernel: SDPA's backends and FlexAttention.

The 16k training step spends a third of its time in the attention backward (benchmarks/RESULTS.md). This
times one causal attention (batch 1, the DSC-1.3B shape's 16 heads of 128 by default) forward and
forward+backward with each backend that runs here, and prints TFLOP/s (causal: 2·S²·H·D forward,
2.5× that backward):

    python benchmarks/attention_backends.py                  # GPU: cudnn, flash, efficient, flex
    python benchmarks/attention_backends.py --seq 256 --device cpu   # smoke run (math and flex, eager)

Outputs of every backend are compared with the first one that ran (max abs difference).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

BACKENDS = ("cudnn", "flash", "efficient", "math", "flex")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=int, default=16384)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--backends", default=None, help="comma-separated subset of " + ",".join(BACKENDS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def attention_fn(name: str, seq: int, device: str):
    """A function (q, k, v) -> causal attention output, or None when ``name`` cannot run here."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if name == "flex":
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        mask = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, seq, seq, device=device)
        # compiled on the GPU (the eager path materialises the scores); eager on the CPU smoke run
        flex = torch.compile(flex_attention) if device == "cuda" else flex_attention
        return lambda q, k, v: flex(q, k, v, block_mask=mask)
    if name == "math" and device == "cuda" and seq > 4096:
        return None  # the math backend materialises S × S scores per head
    backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
               "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[name]

    def run(q, k, v):
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    return run


def timed(fn, device: str, steps: int) -> float:
    import torch

    for _ in range(2):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main() -> None:
    import torch

    args = parse_args()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    names = args.backends.split(",") if args.backends else list(BACKENDS)
    torch.manual_seed(0)
    shape = (1, args.heads, args.seq, args.head_dim)
    q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    grad = torch.randn(shape, device=device, dtype=dtype)
    forward_flop = 2 * args.seq ** 2 * args.heads * args.head_dim  # causal: half of 4·S²·H·D
    results = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__,
               "shape": {"seq": args.seq, "heads": args.heads, "head_dim": args.head_dim, "dtype": str(dtype)},
               "backends": {}}
    reference = None
    for name in names:
        fn = attention_fn(name, args.seq, device)
        if fn is None:
            print(f"{name:<10} skipped (too large for this backend)")
            continue
        try:
            out = fn(q, k, v)
            forward = timed(lambda: fn(q, k, v), device, args.steps)
            both = timed(lambda: torch.autograd.grad(fn(q, k, v), (q, k, v), grad), device, args.steps)
        except RuntimeError as exc:  # a backend that does not support this device, dtype or shape
            print(f"{name:<10} not available: {str(exc).splitlines()[0]}")
            continue
        backward = both - forward
        row = {"forward_ms": round(1e3 * forward, 3), "backward_ms": round(1e3 * backward, 3),
               "forward_tflops": round(forward_flop / forward / 1e12, 1),
               "backward_tflops": round(2.5 * forward_flop / backward / 1e12, 1) if backward > 0 else None}
        if reference is None:
            reference = out.detach()
        else:
            row["max_abs_diff_vs_first"] = float((out.detach().float() - reference.float()).abs().max())
        results["backends"][name] = row
        print(f"{name:<10} forward {row['forward_ms']:8.2f} ms ({row['forward_tflops']:6.1f} TFLOP/s)   "
              f"backward {row['backward_ms']:8.2f} ms ({row['backward_tflops']} TFLOP/s)", flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
