"""Hardware choices for what [model] leaves "auto": device, dtype, attention kernel, compilation — each with its reason."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import attrs

from lca_core.api.errors import ConfigError, ConfigProblem

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

    def torch_dtype(self, name: str | None = None) -> Any:
        import torch

        return getattr(torch, name or self.param_dtype)

    def describe(self) -> list[str]:
        return [f"{key:<22} {value}" for key, value in self.reasons.items()]


@attrs.frozen
class GpuInfo:
    """What ``device = "auto"`` knows of one visible GPU (index as torch numbers it)."""

    index: int
    name: str
    free_bytes: int
    total_bytes: int
    #: PIDs of compute processes on this GPU other than this one (None: unknown, no NVML)
    other_processes: tuple[int, ...] | None = None


def _nvml_processes(uuids: list[str]) -> list[tuple[tuple[int, ...], int, int] | None]:
    """(other PIDs, free, total) per GPU UUID from NVML, which creates no CUDA context; None where unavailable."""
    try:
        import pynvml  # nvidia-ml-py, a dependency of torch's CUDA builds
    except ImportError:
        return [None] * len(uuids)
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver library: fall back to CUDA's own figures
        return [None] * len(uuids)
    found: list[tuple[tuple[int, ...], int, int] | None] = []
    me = os.getpid()
    for uuid in uuids:
        try:
            handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            others = tuple(sorted(p.pid for p in procs if p.pid != me))
            found.append((others, int(memory.free), int(memory.total)))
        except Exception:  # noqa: BLE001 - MIG slices, old drivers: no answer for this GPU
            found.append(None)
    return found


def gpu_inventory() -> list[GpuInfo]:
    """The visible GPUs with free memory and the other processes on each (NVML when it answers).

    NVML is asked first because ``torch.cuda.mem_get_info`` creates a CUDA context on the GPU it
    measures (hundreds of MB), which made an idle GPU look busy to the old rule.
    """
    import torch

    props = [torch.cuda.get_device_properties(index) for index in range(torch.cuda.device_count())]
    uuids = []
    for prop in props:
        uuid = str(getattr(prop, "uuid", ""))
        uuids.append(uuid if uuid.startswith("GPU-") else f"GPU-{uuid}" if uuid else "")
    nvml = _nvml_processes(uuids) if all(uuids) else [None] * len(props)
    inventory = []
    for index, (prop, answer) in enumerate(zip(props, nvml)):
        if answer is None:  # no NVML answer: CUDA's own figures (this creates a context), no process list
            free, total = torch.cuda.mem_get_info(index)
            answer = (None, int(free), int(total))
        others, free, total = answer
        inventory.append(GpuInfo(index, prop.name, free, total, others))
    return inventory


def pick_gpu(inventory: list[GpuInfo], local_rank: str | None = None) -> tuple[str | None, str]:
    """(device, why) for ``device = "auto"``; device None means no GPU should be used.

    - under torchrun each process owns the GPU of its ``LOCAL_RANK``;
    - a single visible GPU is used (whatever this process's own context holds on it);
    - among several, the one with the most free memory that no other process holds; when every GPU
      is held by another process, the one with the most free memory if at least half of it is free.
    """
    if local_rank is not None:
        return f"cuda:{int(local_rank)}", f"LOCAL_RANK={local_rank} (one GPU per process under torchrun)"
    if not inventory:
        return None, "no CUDA GPU visible"

    def label(gpu: GpuInfo) -> str:
        return f"GPU {gpu.index} ({gpu.name}, {gpu.free_bytes / 2**30:.0f} of {gpu.total_bytes / 2**30:.0f} GiB free)"

    if len(inventory) == 1:
        return "cuda:0", f"{label(inventory[0])} is the only visible GPU"
    unheld = [g for g in inventory if g.other_processes == ()]
    unknown = [g for g in inventory if g.other_processes is None]
    if unheld:
        best = max(unheld, key=lambda g: (g.free_bytes, -g.index))
        return f"cuda:{best.index}", f"{label(best)} has the most free memory of the {len(unheld)} GPUs no other process uses"
    if unknown:  # no process list (no NVML): free memory decides
        best = max(unknown, key=lambda g: (g.free_bytes, -g.index))
        return f"cuda:{best.index}", f"{label(best)} has the most free memory (no process list without NVML)"
    best = max(inventory, key=lambda g: (g.free_bytes, -g.index))
    if best.free_bytes >= best.total_bytes / 2:
        return f"cuda:{best.index}", (f"every GPU is used by another process; {label(best)} has the most free memory "
                                      "(set model.device to choose)")
    return None, (f"all {len(inventory)} GPUs are used by other processes and none has half its memory free "
                  "(set model.device = \"cuda:N\" to use one anyway)")


def _free_gpu() -> tuple[str | None, str]:
    import torch

    local_rank = os.environ.get("LOCAL_RANK")
    if not torch.cuda.is_available():
        return None, "no CUDA GPU visible"
    return pick_gpu(gpu_inventory() if local_rank is None else [], local_rank)


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
