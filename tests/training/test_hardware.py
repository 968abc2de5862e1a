"""device = "auto": which GPU is chosen and why, with the CUDA and NVML queries patched (no GPU here)."""

from __future__ import annotations

import pytest

from lca_core.config.model import ModelSection
from lca_core.models import hardware
from lca_core.models.hardware import GpuInfo, choose_hardware, pick_gpu

GIB = 2**30


def gpu(index, free_gib, *, total_gib=140, others=()):
    return GpuInfo(index, "NVIDIA H200", int(free_gib * GIB), int(total_gib * GIB), others)


def test_single_gpu_is_used_even_with_this_process_context():
    # 0.5 GiB held by our own context: the old "≤ 0.1% used" rule called this GPU busy and trained on the CPU.
    device, why = pick_gpu([gpu(0, 139.5)])
    assert device == "cuda:0"
    assert "only visible GPU" in why


def test_single_gpu_used_by_another_process_is_still_used():
    assert pick_gpu([gpu(0, 20, others=(4242,))])[0] == "cuda:0"


def test_most_free_memory_among_unheld_gpus():
    inventory = [gpu(0, 100, others=(11,)), gpu(1, 120), gpu(2, 139), gpu(3, 139.5, others=(12,))]
    device, why = pick_gpu(inventory)
    assert device == "cuda:2"
    assert "no other process" in why


def test_all_held_takes_the_freest_if_half_free_else_cpu():
    assert pick_gpu([gpu(0, 30, others=(1,)), gpu(1, 90, others=(2,))])[0] == "cuda:1"
    device, why = pick_gpu([gpu(0, 30, others=(1,)), gpu(1, 40, others=(2,))])
    assert device is None and "model.device" in why


def test_without_nvml_free_memory_decides():
    device, _ = pick_gpu([gpu(0, 100, others=None), gpu(1, 130, others=None)])
    assert device == "cuda:1"


def test_local_rank_wins():
    assert pick_gpu([gpu(0, 1), gpu(1, 1)], local_rank="1") == ("cuda:1", pytest.approx(
        "LOCAL_RANK=1 (one GPU per process under torchrun)"))


def test_choose_hardware_auto_reports_the_choice(monkeypatch):
    import torch

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (9, 0))
    monkeypatch.setattr(hardware, "gpu_inventory", lambda: [gpu(0, 139.3)])
    chosen = choose_hardware(ModelSection(name_or_path="x"))
    assert chosen.device == "cuda:0"
    assert chosen.param_dtype == "bfloat16" and chosen.compile
    assert chosen.reasons["device"].startswith("cuda:0 — GPU 0 (NVIDIA H200, 139 of 140 GiB free)")


def test_choose_hardware_under_torchrun_skips_the_inventory(monkeypatch):
    import torch

    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (9, 0))
    monkeypatch.setattr(hardware, "gpu_inventory", lambda: pytest.fail("queried GPUs under torchrun"))
    assert choose_hardware(ModelSection(name_or_path="x")).device == "cuda:1"


def test_no_gpu_means_cpu_with_reason(monkeypatch):
    import torch

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    chosen = choose_hardware(ModelSection(name_or_path="x"))
    assert chosen.device == "cpu" and "no CUDA GPU visible" in chosen.reasons["device"]


def test_inventory_prefers_nvml_and_ignores_this_process(monkeypatch):
    import os
    import sys
    import types

    import torch

    class Props:
        uuid = "GPU-aaaa"
        name = "NVIDIA H200"

    class Proc:
        def __init__(self, pid):
            self.pid = pid

    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetHandleByUUID=lambda uuid: uuid,
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(free=139 * GIB, total=140 * GIB),
        nvmlDeviceGetComputeRunningProcesses=lambda h: [Proc(os.getpid())],
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: Props())
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: pytest.fail("created a CUDA context"))
    assert hardware.gpu_inventory() == [GpuInfo(0, "NVIDIA H200", 139 * GIB, 140 * GIB, ())]
