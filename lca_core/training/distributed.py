"""torch.distributed for the trainer: the process group torchrun describes, the DDP/FSDP2 choice, wrapping, reductions.

One run file trains on 1 process, N processes of one machine (``lca-run --nproc N``) or several machines
(``torchrun`` with a rendezvous, docs/distributed.md): this module reads torchrun's environment
(RANK, WORLD_SIZE, LOCAL_RANK), joins the process group (nccl on CUDA, gloo on the CPU) and wraps the
model. The trainer stays one loop; what differs between 1 and N processes is asked of `Distributed`.

Strategies (``[trainer] strategy``):
  * ``ddp`` — every rank holds the whole model; gradients are all-reduced once per optimizer step
    (``no_sync`` on the other micro-steps). Measured 95.8–98.8% scaling on 2×H100 (benchmarks/RESULTS.md).
  * ``fsdp`` — FSDP2: ``fully_shard`` per decoder layer, then the root; parameters, gradients and
    optimizer state are sharded across ranks. 93.7–95.1% scaling there; it buys memory.
  * ``auto`` — ddp, unless weights + gradients + AdamW state would not fit in one GPU's memory.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable

import attrs

from lca_core.api.errors import ConfigError, ConfigProblem

#: share of one GPU's memory that weights, gradients and optimizer state may take before auto picks FSDP;
#: the rest is for activations (a 16k sequence of a 1.3B model needs ~20–30 GiB of them)
STATE_MEMORY_FRACTION = 0.5


@attrs.frozen
class Distributed:
    """This process's place in the run: rank, world size, local rank, backend ("" = one process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over ranks (the values themselves in one process)."""
        if not self.enabled:
            return list(values)
        import torch
        import torch.distributed as dist

        device = torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else "cpu"
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def sum_by_name(self, sums: dict[str, list[float]]) -> dict[str, list[float]]:
        """``{name: [values]}`` summed over ranks, for the union of every rank's names (a rank may have none)."""
        if not self.enabled:
            return sums
        names = sorted(set().union(*self.all_gather_object(sorted(sums))))
        width = max((len(v) for v in sums.values()), default=2)
        flat = [x for n in names for x in sums.get(n, [0.0] * width)]
        totals = self.all_reduce_sum(flat)
        return {n: totals[i * width:(i + 1) * width] for i, n in enumerate(names)}

    def all_gather_object(self, obj: Any) -> list[Any]:
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


def from_environment() -> Distributed:
    """The run as torchrun describes it in the environment (one process when it does not)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    return Distributed(rank=int(os.environ["RANK"]), world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def init_distributed(device: str) -> Distributed:
    """Join the process group torchrun set up: nccl for CUDA devices, gloo on the CPU."""
    run = from_environment()
    if not run.enabled:
        return run
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        kwargs = {"device_id": torch.device(device)} if backend == "nccl" else {}
        dist.init_process_group(backend=backend, **kwargs)
    return attrs.evolve(run, backend=backend)


@contextlib.contextmanager
def main_first(run: Distributed):
    """Rank 0 runs the block first (filling on-disk caches), then the other ranks run it (reading them)."""
    if not run.is_main:
        run.barrier()
    yield
    if run.is_main:
        run.barrier()


def shutdown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def per_rank_accumulation(accum: int, world_size: int) -> int:
    """Micro-batches each rank runs per optimizer step: the global ``accum`` split evenly."""
    if accum % world_size:
        fits = sorted({n for n in range(1, accum + 1) if accum % n == 0})
        raise ConfigError([ConfigProblem(
            "trainer.gradient_accumulation_steps",
            f"{accum} micro-batches per optimizer step (global) cannot be split evenly over {world_size} processes; "
            f"use a multiple of {world_size} (keeps the global batch = micro_batch_size × accumulation), or run "
            f"on {', '.join(map(str, fits[:6]))} processes")])
    return accum // world_size


def state_bytes(num_params: int, param_dtype: str) -> int:
    """Weights + gradients + AdamW's two moments, all in the parameters' dtype (fused AdamW keeps them so)."""
    return num_params * (2 if param_dtype in ("bfloat16", "float16") else 4) * 4


def choose_strategy(setting: str, *, num_params: int, param_dtype: str, device: str,
                    gpu_memory: int | None = None) -> tuple[str, str]:
    """(ddp | fsdp, why). ``gpu_memory`` in bytes (read from the device when None and on CUDA)."""
    if setting != "auto":
        return setting, "set in the run file"
    need = state_bytes(num_params, param_dtype)
    if not device.startswith("cuda"):
        return "ddp", f"CPU: weights + gradients + AdamW state ({need / 2**30:.1f} GiB) replicated per process"
    if gpu_memory is None:
        import torch

        gpu_memory = torch.cuda.get_device_properties(torch.device(device)).total_memory
    budget = gpu_memory * STATE_MEMORY_FRACTION
    if need <= budget:
        return "ddp", (f"weights + gradients + AdamW state {need / 2**30:.1f} GiB fit in {STATE_MEMORY_FRACTION:.0%} of "
                       f"one GPU's {gpu_memory / 2**30:.0f} GiB (DDP scales best)")
    return "fsdp", (f"weights + gradients + AdamW state {need / 2**30:.1f} GiB exceed {STATE_MEMORY_FRACTION:.0%} of one "
                    f"GPU's {gpu_memory / 2**30:.0f} GiB: sharded across processes")


_MODEL_CALL: list[type] = []


def model_call_class() -> type:
    """`ModelCall`: a module that runs a function of the model inside its own forward.

    DDP and FSDP act in their wrapper's forward (DDP prepares the gradient all-reduce, FSDP gathers the
    root's parameters). The trainer's loss reads the decoder's hidden states and the output projection's
    weight separately, so that whole function runs inside one wrapped forward: every parameter use is seen.
    """
    if not _MODEL_CALL:
        import torch

        class ModelCall(torch.nn.Module):
            def __init__(self, model: Any):
                super().__init__()
                self.model = model

            def forward(self, fn: Callable[..., Any], *args: Any) -> Any:
                return fn(*args)

        _MODEL_CALL.append(ModelCall)
    return _MODEL_CALL[0]


def wrap_model(model: Any, strategy: str, run: Distributed, device: str) -> Any:
    """The module whose forward the trainer calls: ``ModelCall(model)``, under DDP or FSDP2 when distributed.

    FSDP2 shards ``model`` in place (each decoder layer, then the root), so build the optimizer after this.
    """
    import torch

    call = model_call_class()(model)
    if not run.enabled:
        return call
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        from lca_core.models.compile import decoder_layers

        for layer in decoder_layers(model):
            fully_shard(layer)
        fully_shard(call)
        return call
    from torch.nn.parallel import DistributedDataParallel

    import inspect

    ids = [torch.device(device).index] if device.startswith("cuda") else None
    # buffers (rotary frequencies) are equal on every rank: no broadcast before each forward
    names = inspect.signature(DistributedDataParallel).parameters
    no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in names else {"broadcast_buffers": False}
    # 100 MB buckets: fewer, larger all-reduces overlap the backward better at 1-2B parameters (the
    # hand-written loop of issue 12 reached 96-99% scaling with them); gradients live in the buckets
    # themselves, saving one gradient-sized copy per step.
    return DistributedDataParallel(call, device_ids=ids, bucket_cap_mb=100, gradient_as_bucket_view=True, **no_sync)


def set_gradient_sync(engine: Any, sync: bool) -> None:
    """Whether the next backward all-reduces (DDP) / reduce-scatters (FSDP2) gradients: only on a step's last
    micro-batch; before it, gradients accumulate locally (what DDP's ``no_sync()`` context sets)."""
    if hasattr(engine, "set_requires_gradient_sync"):  # FSDP2
        engine.set_requires_gradient_sync(sync)
    elif hasattr(engine, "require_backward_grad_sync"):  # DDP
        engine.require_backward_grad_sync = sync


def is_sharded(engine: Any) -> bool:
    return hasattr(engine, "set_requires_gradient_sync")


def full_model_state(engine: Any) -> dict[str, Any]:
    """The Hugging Face model's whole state dict on rank 0's CPU (a collective; empty on other ranks)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(engine, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {name.removeprefix("model."): value for name, value in state.items()}


def save_sharded(engine: Any, optimizer: Any, path: Any) -> None:
    """Every rank writes its shards of weights and optimizer state (torch.distributed.checkpoint)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optim_state = get_state_dict(engine, optimizer)
    dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=str(path))


def load_sharded(engine: Any, optimizer: Any, path: Any) -> None:
    """Read a sharded checkpoint into this run's layout, whatever the world size or strategy that wrote it."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_state, optim_state = get_state_dict(engine, optimizer)
    state = {"model": model_state, "optim": optim_state}
    dcp.load(state, checkpoint_id=str(path))
    set_state_dict(engine, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])


def load_full_optimizer(engine: Any, optimizer: Any, full_state: dict[str, Any]) -> None:
    """Load an ``optimizer.state_dict()`` saved by one process (or DDP) into a sharded (FSDP) optimizer.

    Its states are keyed by position in the parameter groups; the parameters are in the same order here
    (same model, same `build_optimizer`), so each position is renamed to its parameter's name.
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = {id(p): name for name, p in engine.named_parameters()}
    ordered = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    groups = [{**g, "params": [ordered[i] for i in g["params"]]} for g in full_state["param_groups"]]
    state = {ordered[i]: s for i, s in full_state["state"].items()}
    set_optimizer_state_dict(engine, optimizer, {"state": state, "param_groups": groups},
                             options=StateDictOptions(full_state_dict=True))
