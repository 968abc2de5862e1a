"""Hardware choices for what [model] leaves "auto": device, dtype, attention kernel, compilation — each with its reason."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import attrs

from lca_core.api.errors import ConfigError, ConfigProblem

#: A GPU counts as free when at most this fraction of its memory is in use (the original's rule).
FREE_GPU_USED_FRACTION = 0.001


@attrs.frozen
class Hardware:
    """Where and how the model runs; ``reasons`` says why, one line per choice (``lca-run check`` prints them)."""

    device: str
    param_dtype: str  # dtype of the weights: "float32" | "bfloat16"
    autocast_dtype: str  # "" = no autocast; else "bfloat16" | "float16"
    grad_scaler: bool  # fp16 needs loss scaling
    attn_implementation: str
    compile: bool  # torch.compile per decoder layer
    gradient_checkpointing: bool
    reasons: dict[str, str] = attrs.field(factory=dict)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def torch_dtype(self, name: str | None = None) -> Any:
        import torch

        return getattr(torch, name or self.param_dtype)

    def describe(self) -> list[str]:
        return [f"{key:<22} {value}" for key, value in self.reasons.items()]


def _free_gpu() -> tuple[str | None, str]:
    import torch

    if not torch.cuda.is_available():
        return None, "no CUDA GPU visible"
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is not None:  # under torchrun each process owns one GPU
        return f"cuda:{int(local_rank)}", f"LOCAL_RANK={local_rank} (one GPU per process)"
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        if (total - free) / total <= FREE_GPU_USED_FRACTION:
            return f"cuda:{index}", f"GPU {index} ({torch.cuda.get_device_name(index)}) is the first one with no memory in use"
    return None, f"all {torch.cuda.device_count()} GPUs already have memory in use"


def choose_hardware(model: Any) -> Hardware:
    """Resolve every "auto" of the [model] section for this machine and say why."""
    import torch

    reasons: dict[str, str] = {}
    if model.device == "auto":
        device, why = _free_gpu()
        if device is None:
            device, why = "cpu", f"CPU ({why})"
        reasons["device"] = f"{device} — {why}"
    else:
        device = model.device
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError([ConfigProblem("model.device", f"'{device}' asked for, but no CUDA GPU is visible; "
                                                             "use device = \"auto\" or \"cpu\"")])
        reasons["device"] = f"{device} — set in the run file"
    cuda = device.startswith("cuda")

    if model.dtype == "auto":
        if cuda and torch.cuda.is_bf16_supported():
            dtype, why = "bfloat16", "bf16 is supported by this GPU"
        elif cuda:
            dtype, why = "float16", "this GPU has no bf16; fp16 with a gradient scaler"
        else:
            dtype, why = "float32", "CPU: fp32 (half precision is slow and inexact there)"
    else:
        dtype, why = model.dtype, "set in the run file"
    reasons["dtype"] = f"{dtype} — {why}"
    # bf16 trains with bf16 weights (the original's setup: half the memory of fp32 master weights);
    # fp16 needs fp32 weights under autocast, because the gradient scaler cannot unscale fp16 gradients.
    param_dtype = "bfloat16" if dtype == "bfloat16" else "float32"
    autocast_dtype = "" if dtype == "float32" else dtype
    grad_scaler = dtype == "float16" and cuda

    if model.attn_implementation == "auto":
        if cuda and dtype != "float32" and importlib.util.find_spec("flash_attn") is not None \
                and torch.cuda.get_device_capability(torch.device(device))[0] >= 8:
            attn, why = "flash_attention_2", "flash-attn is installed and the GPU supports it"
        else:
            missing = "flash-attn is not installed" if importlib.util.find_spec("flash_attn") is None \
                else "FlashAttention 2 needs an Ampere+ GPU in half precision"
            attn, why = "sdpa", f"{missing}; PyTorch SDPA (falls back to eager if the model lacks it)"
    else:
        attn, why = model.attn_implementation, "set in the run file"
    reasons["attn_implementation"] = f"{attn} — {why}"

    if model.compile == "auto":
        compile_, why = cuda, ("per decoder layer on CUDA (whole-model compile measured 36% slower)" if cuda
                               else "off on CPU (compile time would exceed the gain)")
    else:
        compile_, why = bool(model.compile), "set in the run file (per decoder layer)"
    reasons["compile"] = f"{compile_} — {why}"
    reasons["gradient_checkpointing"] = f"{model.gradient_checkpointing} — " + (
        "asked for in the run file" if model.gradient_checkpointing else "off unless asked (costs ~20% speed)")
    return Hardware(device=device, param_dtype=param_dtype, autocast_dtype=autocast_dtype, grad_scaler=grad_scaler,
                    attn_implementation=attn, compile=compile_, gradient_checkpointing=model.gradient_checkpointing,
                    reasons=reasons)
