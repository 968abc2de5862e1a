"""The fine-tuning loop: one class whose `train()` reads top to bottom (nanoGPT / torchtune style).

Each iteration: set the learning rate → fetch ``accum`` micro-batches → forward/backward each, with
the loss weighted by target tokens across the whole accumulated batch → clip → step → log →
validate / checkpoint at their frequencies. Resume restores weights, optimizer, scaler, RNG states and
the sampler position, so a run killed at any point continues exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import attrs

from lca_core.training.checkpoint import SHARDED_DIR, CheckpointManager
from lca_core.training.distributed import (
    Distributed,
    choose_strategy,
    full_model_state,
    is_sharded,
    load_full_optimizer,
    load_sharded,
    per_rank_accumulation,
    save_sharded,
    set_gradient_sync,
    wrap_model,
)
from lca_core.training.faults import (
    CheckpointWriteError,
    NonFiniteLoss,
    RunStopped,
    StopSignals,
    blame,
    datapoint_ids,
    nonfinite_message,
    out_of_memory,
)
from lca_core.training.loss import (
    linear_cross_entropy,
    liger_linear_cross_entropy,
    logit_statistics,
    resolve_loss_impl,
    supports_hidden_state_loss,
)
from lca_core.training.metrics import (
    PEAK_FLOPS,
    MetricAccumulator,
    flops_per_token,
    token_cross_entropy,
)
from lca_core.models.vocabulary import newline_token_mask
from lca_core.training.optim import build_optimizer, set_learning_rate
from lca_core.training.progress import ProgressSettings, make_progress
from lca_core.training.sampler import FusedSampler, rank_positions
from lca_core.training.state import TrainerState, capture_rng, restore_rng

TENSOR_KEYS = ("input_ids", "target_ids", "loss_mask", "category_ids", "completion_mask", "attention_mask",
               "target_attention_mask")


@attrs.define(kw_only=True)
class Resume:
    """What a checkpoint hands the trainer: its state, optimizer/scaler state and RNG states."""

    path: Path
    state: TrainerState
    optim: dict[str, Any] | None
    rng: dict[str, Any] | None


class Trainer:
    """Full fine-tuning of a causal LM on preprocessed batches.

    ``train_data`` / ``valid_data`` are indexable by a list of row indices and return a batch dict of
    tensors (a `datasets.Dataset` with the composer+preprocessor transform set, or anything alike).
    With ``distributed`` (one process of a torchrun job), each process runs its share of every step's
    micro-batches and of validation; docs/distributed.md.
    """

    def __init__(self, *, config: Any, model: Any, tokenizer: Any, hardware: Any, train_data: Any,
                 valid_data: Any = None, scheduler: Any, logger: Any, checkpoints: CheckpointManager,
                 resume: Resume | None = None, plugin_manager: Any = None,
                 progress: ProgressSettings | bool = True,
                 distributed: Distributed | None = None):
        import torch

        self.config, self.trainer = config, config.trainer
        self.model, self.tokenizer, self.hardware = model, tokenizer, hardware
        self.train_data, self.valid_data = train_data, valid_data
        self.scheduler, self.logger, self.checkpoints = scheduler, logger, checkpoints
        self.plugins, self.progress = plugin_manager, progress
        self.device = torch.device(hardware.device)

        torch.set_float32_matmul_precision(self.trainer.fp32_matmul_precision)
        if self.trainer.cpu_threads > 0:
            torch.set_num_threads(self.trainer.cpu_threads)
        self.dist = distributed or Distributed()
        self.accum_per_rank = per_rank_accumulation(self.trainer.gradient_accumulation_steps, self.dist.world_size)
        self.num_params = sum(p.numel() for p in model.parameters())
        self.strategy, self.strategy_reason = choose_strategy(
            self.trainer.strategy, num_params=self.num_params, param_dtype=hardware.param_dtype, device=hardware.device)
        # the loss runs inside the wrapper's forward, where DDP / FSDP do their work (distributed.py)
        self.engine = wrap_model(model, self.strategy, self.dist, hardware.device)
        self.optimizer = build_optimizer(model, self.trainer)  # after wrapping: FSDP swaps in sharded parameters
        self.scaler = _grad_scaler(self.device.type, hardware.grad_scaler, sharded=is_sharded(self.engine))
        self.sampler = FusedSampler(len(train_data), seed=config.run.seed, shuffle=self.trainer.shuffle)
        self.state = TrainerState()
        self._loader = None
        # (sample position, RNG states) at the start of the step in progress; None at a step boundary
        self._step_start: tuple[int, dict[str, Any]] | None = None
        self._updating = False  # inside optimizer.step: the weights are half-updated, never save them
        self.resumed_from: int | None = None
        if resume is not None:
            self._restore(resume)

        self.train_metrics = MetricAccumulator()
        vocab = model.get_output_embeddings().weight.shape[0]
        self.valid_metrics = MetricAccumulator(
            newline_ids=newline_token_mask(tokenizer, vocab).to(self.device) if valid_data is not None else None)
        # Full-vocabulary logits cost 2 GiB (DSC) to 6 GiB (OpenCoder) per fp32 copy at 16k tokens:
        # the loss is taken from the final hidden states, chunk by chunk (lca_core/training/loss.py).
        self.loss_impl = resolve_loss_impl(self.trainer.loss_impl, self.device.type) \
            if supports_hidden_state_loss(model) else "full"

    # --- the loop -----------------------------------------------------------------------------------

    def train(self) -> TrainerState:
        """Run until ``trainer.max_iters`` optimizer steps are done; returns the final state."""
        max_iters = self.trainer.max_iters
        self.logger.start(resumed_from=self.resumed_from, state=self.state.logger_state)
        if self.dist.enabled:
            self.logger.message("INFO", {"distributed": self.describe_distributed()})
        self._notify("lca_run_start", config=self.config, run_dir=self.checkpoints.root.parent,
                     start_iteration=self.state.iteration)
        status, error = "failed", None
        stop = StopSignals()
        try:
            stop.install()
            if self.state.iteration == 0 and self._validating:
                self.validate()
            progress = make_progress(self.progress, total=max_iters, initial=self.state.iteration,
                                     main=self.dist.is_main)
            while self.state.iteration < max_iters:
                train_metrics = self.train_step()
                iteration = self.state.iteration
                self.logger.log("train", iteration, train_metrics)
                self._notify("lca_after_optimizer_step", iteration=iteration, metrics=train_metrics,
                             learning_rate=train_metrics["learning_rate"])
                progress.update(iteration, train_metrics)
                last = iteration == max_iters
                if self._validating and (iteration % self.trainer.valid_freq == 0 or last):
                    progress.validated(iteration, self.validate())
                freq = self.config.checkpointing.freq
                saved = None
                if last or (freq and iteration % freq == 0):
                    saved = self.save(train_metrics)
                if stop.requested and not last:  # SIGTERM / SIGINT: a checkpoint at this step boundary, then stop
                    saved = saved or self.save(train_metrics)
                    raise stop.stopped(iteration, max_iters, saved, getattr(self.config, "source", None))
            progress.close()
            status = "completed"
        except (KeyboardInterrupt, RunStopped):
            status = "stopped"
            raise
        except BaseException as exc:
            error = exc
            reported = self._after_failure(exc)
            if reported is exc:
                raise
            raise reported from exc
        finally:
            stop.restore()
            self.logger.finish(status)
            self._notify("lca_run_end", run_dir=self.checkpoints.root.parent, status=status,
                         iteration=self.state.iteration, error=error)
        return self.state

    def train_step(self) -> dict[str, float]:
        """One optimizer step over ``accum`` micro-batches; returns the step's training metrics."""
        import torch

        started = time.perf_counter()
        iteration = self.state.iteration  # 0-based index of the step being taken
        lr = self.scheduler.lr(iteration, self.trainer.learning_rate)
        set_learning_rate(self.optimizer, lr)
        self.model.train()

        self._step_start = (self.state.sample_position, capture_rng())
        micro_batches = self.next_micro_batches()
        # The loss is the mean over every target token of the accumulated batch (not a mean of
        # micro-batch means), so k micro-batches give the same gradient as one batch of their tokens.
        # Over all processes: each rank's gradient is its tokens' share of the global mean (DDP/FSDP average
        # over ranks, so each loss is scaled by the world size), and the sum equals the 1-process gradient.
        loss_tokens, tokens = self.dist.all_reduce_sum([sum(int(b["loss_mask"].sum()) for b in micro_batches),
                                                         sum(self._input_tokens(b) for b in micro_batches)])
        loss_tokens, tokens = max(1, int(loss_tokens)), int(tokens)
        loss_divisor = loss_tokens / self.dist.world_size if self.dist.enabled else loss_tokens
        self.train_metrics.reset()
        step_loss = 0.0
        for index, batch in enumerate(micro_batches):
            loss_rows = int(batch["loss_mask"].sum())  # counted on the host copy: no device sync
            batch = self._to_device(batch)
            set_gradient_sync(self.engine, index == len(micro_batches) - 1)  # one all-reduce per step
            with self._out_of_memory("training", batch), self._autocast():
                loss, ce = self.engine(self._loss, batch, loss_divisor, loss_rows)
            with self._out_of_memory("training", batch):
                self.scaler.scale(loss).backward()
            self.train_metrics.update(ce.detach(), batch)
            step_loss = step_loss + loss.detach()
            del ce, loss

        grad_norm = None
        # one host sync; detected at the step it appears, and decided alike on every rank (or replicas diverge)
        if self.dist.all_reduce_sum([0.0 if bool(torch.isfinite(step_loss)) else 1.0])[0] > 0:
            self.optimizer.zero_grad(set_to_none=True)
            if self.trainer.on_nonfinite == "stop":
                ids = datapoint_ids(self.train_data, self.sampler.indices(self._step_start[0], len(micro_batches)
                                                                            * self.trainer.micro_batch_size))
                raise NonFiniteLoss(nonfinite_message(float(step_loss), iteration + 1, ids))
            self.state.skipped_steps += 1  # "skip": this step changes no weight and no optimizer moment
        else:
            if self.trainer.max_grad_norm > 0:
                self.scaler.unscale_(self.optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.trainer.max_grad_norm)
            self._updating = True
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self._updating = False
            self.optimizer.zero_grad(set_to_none=True)

        self._step_start = None
        self.state.iteration += 1
        self.state.tokens_seen += tokens
        self.state.loss_tokens_seen += loss_tokens
        metrics = self.train_metrics.compute(self._reduce)  # the one host sync of the step
        elapsed = time.perf_counter() - started
        metrics.update(self._step_statistics(lr, grad_norm, tokens, elapsed))
        return metrics

    def validate(self) -> dict[str, float]:
        """One pass over the validation set; logs and returns token-weighted metrics."""
        import torch

        self.model.eval()
        self.valid_metrics.reset()
        size, count, world = self.trainer.micro_batch_size, len(self.valid_data), self.dist.world_size
        with torch.no_grad():
            # Rank r takes batches r, r + world, ...; every rank runs the same number of forwards (FSDP's are
            # collective), so one past the end repeats batch 0 and is not counted.
            for round_ in range(-(-count // (size * world))):
                start = (round_ * world + self.dist.rank) * size
                counted = start < count
                indices = list(range(start, min(start + size, count))) if counted else list(range(min(size, count)))
                batch = self._to_device(self._fetch(self.valid_data, indices))
                with self._out_of_memory("validation", batch), self._autocast():
                    ce, scores = self.engine(self._statistics, batch)
                if counted:
                    self.valid_metrics.update(ce, batch, **scores)
        metrics = self.valid_metrics.compute(self._reduce)
        metrics["epoch"] = self.sampler.epoch(self.state.sample_position)
        self.state.last_valid = metrics
        self.logger.log("valid", self.state.iteration, metrics)
        self._notify("lca_after_validation", iteration=self.state.iteration, metrics=metrics)
        self.model.train()
        return metrics

    def save(self, train_metrics: dict[str, float]) -> Path:
        """Write checkpoint ``NNNN`` atomically; it holds everything exact resume needs."""
        self.state.logger_state = dict(self.logger.state())
        state = {"trainer": self.state.to_dict(), "rng": capture_rng()}
        metrics = {"iteration_number": self.state.iteration, "train_metrics": train_metrics,
                   "valid_metrics": self.state.last_valid}
        if is_sharded(self.engine):  # FSDP: every rank writes its shards; rank 0 the consolidated model/
            model_state = full_model_state(self.engine)
            optim_state = {"scaler": self.scaler.state_dict()}

            def write_shards(folder: Path) -> None:
                self.dist.barrier()  # rank 0 made the folder: now everyone writes into it
                save_sharded(self.engine, self.optimizer, folder / SHARDED_DIR)

            if not self.dist.is_main:
                write_shards(self.checkpoints.partial_dir(self.state.iteration))
        else:
            model_state, write_shards = None, None
            optim_state = {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}
        path = self.checkpoints.final_dir(self.state.iteration)
        if self.dist.is_main:  # only rank 0 writes files (the states are equal, or gathered above)
            path = self.checkpoints.save(self.state.iteration, model=self.model, tokenizer=self.tokenizer,
                                         optim_state=optim_state, state=state, metrics=metrics,
                                         model_state=model_state, write_shards=write_shards)
        self.dist.barrier()
        self.logger.message("INFO", {"checkpoint": str(path), "iteration": self.state.iteration})
        self._notify("lca_after_checkpoint", iteration=self.state.iteration, path=path, metrics=metrics)
        return path

    def _after_failure(self, exc: BaseException) -> BaseException:
        """Save what can be saved, then the error to raise: it names the checkpoint to resume from."""
        from lca_core.errors import LcaError, RunError

        saved = None
        consistent = not self._updating and not isinstance(exc, CheckpointWriteError)
        latest = self.checkpoints.latest()
        if consistent and self.state.iteration > 0 and (latest is None or int(latest.name) < self.state.iteration):
            if self._step_start is not None:  # failed inside a step: back to where that step began
                self.state.sample_position, rng = self._step_start
                restore_rng(rng)
                self._step_start = None
            self.optimizer.zero_grad(set_to_none=True)
            try:
                self.save({})
            except Exception:  # noqa: BLE001 - the original failure is the one to report
                pass
            saved = self.checkpoints.latest() if self.checkpoints.latest() != latest else None
            latest = saved or latest
        where = (f"saved checkpoint {saved} (the state after iteration {self.state.iteration})" if saved
                 else f"last complete checkpoint: {latest}" if latest else "no checkpoint was saved")
        if isinstance(exc, LcaError):
            return type(exc)(f"{exc}; {where}") if type(exc) in (RunError, NonFiniteLoss) else exc
        culprit = blame(exc)
        if culprit is None:
            import warnings

            warnings.warn(f"the run failed after iteration {self.state.iteration}; {where}", stacklevel=2)
            return exc
        return RunError(f"{culprit} raised {type(exc).__name__}: {exc} (iteration {self.state.iteration + 1}); "
                        f"{where}; run with --traceback for details")

    @contextlib.contextmanager
    def _out_of_memory(self, phase: str, batch: dict[str, Any]):
        """Turn a CUDA out-of-memory error into one naming the batch shape and what would fit."""
        import torch

        try:
            yield
        except torch.OutOfMemoryError as exc:
            raise out_of_memory(exc, phase=phase, iteration=self.state.iteration + (phase == "training"),
                                shape=tuple(batch["input_ids"].shape), trainer=self.trainer,
                                gradient_checkpointing=self.hardware.gradient_checkpointing) from None

    # --- data ---------------------------------------------------------------------------------------

    def next_micro_batches(self) -> list[dict[str, Any]]:
        """This rank's micro-batches of the step at the sampler's position; the position then moves past the
        whole step (every rank's share), so it is the same global position on every rank."""
        size, accum = self.trainer.micro_batch_size, self.trainer.gradient_accumulation_steps
        out = []
        for position in rank_positions(self.state.sample_position, size, accum, self.dist.rank, self.dist.world_size):
            if self.trainer.num_workers > 0:
                out.append(next(self._worker_batches()))
            else:
                out.append(self._fetch(self.train_data, self.sampler.indices(position, size)))
        self.state.sample_position += size * accum
        return out

    def _worker_batches(self):
        """DataLoader workers compose and tokenize ahead, reading the same stream from the same position."""
        if self._loader is None:
            import torch
            from torch.utils.data import DataLoader

            stream = BatchIndexStream(self.sampler, self.state.sample_position, self.trainer.micro_batch_size,
                                      self.trainer.gradient_accumulation_steps, self.dist.rank, self.dist.world_size)
            loader = DataLoader(BatchFetcher(self.train_data), batch_size=None, sampler=stream,
                                num_workers=self.trainer.num_workers, prefetch_factor=self.trainer.prefetch_factor,
                                collate_fn=_as_is, pin_memory=self.device.type == "cuda",
                                # its own generator: creating the loader must not draw from the global RNG
                                generator=torch.Generator().manual_seed(self.config.run.seed))
            self._loader = iter(loader)
        return self._loader

    @staticmethod
    def _fetch(data: Any, indices: list[int]) -> dict[str, Any]:
        batch = data[indices]
        return {k: batch[k] for k in TENSOR_KEYS if k in batch}

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        mask = batch.get("attention_mask")
        if mask is not None and bool(mask.all()):
            # Checked here on the host copy (a device check would sync): without a mask SDPA keeps its
            # fused causal kernel, and the metrics treat every target as real, as an all-true mask says.
            batch = {k: v for k, v in batch.items() if k != "attention_mask"}
        if self.device.type == "cuda":  # pinned pages let the copy overlap the previous micro-step
            return {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in batch.items()}
        return {k: v.to(self.device) for k, v in batch.items()}

    @staticmethod
    def _input_tokens(batch: dict[str, Any]) -> int:
        mask = batch.get("attention_mask")
        return int(mask.sum()) if mask is not None else batch["input_ids"].numel()

    # --- model --------------------------------------------------------------------------------------

    def _forward(self, batch: dict[str, Any], *, hidden_states: bool = False) -> Any:
        """The logits, or with ``hidden_states`` the decoder's final hidden states (no output projection)."""
        if hidden_states:
            out = self.model.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
            return out.last_hidden_state
        return self.model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits

    def _output_weight(self) -> Any:
        return self.model.get_output_embeddings().weight

    def _statistics(self, batch: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A validation batch's per-token cross-entropy and what top-k / exact match need (logits or ranks)."""
        if self.loss_impl == "full":
            logits = self._forward(batch)
            return token_cross_entropy(logits, batch["target_ids"]), {"logits": logits.float()}
        hidden = self._forward(batch, hidden_states=True)
        ce, rank = logit_statistics(hidden, self._output_weight(), batch["target_ids"])
        return ce, {"rank": rank}

    def _loss(self, batch: dict[str, Any], loss_tokens: float, loss_rows: int) -> tuple[Any, Any]:
        """(this micro-batch's share of the step loss, its per-token cross-entropy for the metrics)."""
        targets, mask = batch["target_ids"], batch["loss_mask"]
        if self.loss_impl == "full":
            ce = token_cross_entropy(self._forward(batch), targets)
            return (ce * mask).sum() / loss_tokens, ce
        hidden = self._forward(batch, hidden_states=True)
        weight = self._output_weight()
        if self.loss_impl == "liger":
            loss = liger_linear_cross_entropy(hidden, weight, targets, mask, 1.0 / loss_tokens)
            ce, _ = logit_statistics(hidden.detach(), weight.detach(), targets, rank=False)
            return loss, ce
        return linear_cross_entropy(hidden, weight, targets, mask.float() / loss_tokens, loss_mask=mask,
                                    loss_rows=loss_rows)

    def _autocast(self):
        import torch

        if not self.hardware.autocast_dtype:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=getattr(torch, self.hardware.autocast_dtype))

    # --- bookkeeping --------------------------------------------------------------------------------

    @property
    def _validating(self) -> bool:
        return self.valid_data is not None and len(self.valid_data) > 0 and self.trainer.valid_freq > 0

    def _step_statistics(self, lr: float, grad_norm: Any, tokens: int, elapsed: float) -> dict[str, float]:
        import torch

        stats = {
            "learning_rate": lr,
            "grad_norm": float(_full(grad_norm)) if grad_norm is not None else float("nan"),
            "tokens_per_second": tokens / elapsed if elapsed > 0 else float("nan"),
            "tokens": float(self.state.tokens_seen),
            "epoch": self.sampler.epoch(self.state.sample_position),
            "skipped_steps": float(self.state.skipped_steps),
        }
        if self.device.type == "cuda":
            cfg = self.model.config
            seq_len = tokens / max(1, self.trainer.micro_batch_size * self.trainer.gradient_accumulation_steps)
            per_token = flops_per_token(self.num_params, cfg.num_hidden_layers, cfg.hidden_size, int(seq_len))
            stats["mfu"] = stats["tokens_per_second"] / self.dist.world_size * per_token / PEAK_FLOPS
            stats["peak_memory_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
        return stats

    def _restore(self, resume: Resume) -> None:
        self.state = resume.state
        self.resumed_from = resume.state.iteration if resume.optim is not None else None
        if resume.optim is not None:
            try:
                if (resume.path / SHARDED_DIR).is_dir():  # written by FSDP: resharded to this run's layout
                    load_sharded(self.engine, self.optimizer, resume.path / SHARDED_DIR)
                elif is_sharded(self.engine):
                    load_full_optimizer(self.engine, self.optimizer, resume.optim["optimizer"])
                else:
                    self.optimizer.load_state_dict(resume.optim["optimizer"])
                if resume.optim.get("scaler"):
                    self.scaler.load_state_dict(resume.optim["scaler"])
            except (ValueError, KeyError, RuntimeError) as exc:
                from lca_core.errors import RunError

                raise RunError(f"the optimizer state of checkpoint {resume.path} does not fit this model "
                               f"({exc}); start from a checkpoint of this model, or set "
                               "checkpointing.init_from = \"scratch\"") from None
        if resume.rng is not None:
            restore_rng(resume.rng)

    def _notify(self, hook: str, **kwargs: Any) -> None:
        if self.plugins is not None:
            self.plugins.notify(hook, **kwargs)

    def _reduce(self, sums: dict[str, list[float]]) -> dict[str, list[float]]:
        return self.dist.sum_by_name(sums)

    def describe_distributed(self) -> str:
        """What a distributed run chose: processes, strategy and why, micro-batches per process."""
        return (f"{self.dist.world_size} processes ({self.dist.backend}), strategy {self.strategy} "
                f"({self.strategy_reason}); gradient_accumulation_steps = {self.trainer.gradient_accumulation_steps} "
                f"global → {self.accum_per_rank} micro-batches of {self.trainer.micro_batch_size} per process per step")


class BatchIndexStream:
    """The sampler's stream cut into micro-batches of row indices, from a position on (a DataLoader sampler)."""

    def __init__(self, sampler: FusedSampler, start: int, size: int, accum: int = 1, rank: int = 0,
                 world_size: int = 1):
        self.sampler, self.start, self.size = sampler, start, size
        self.accum, self.rank, self.world_size = accum, rank, world_size

    def __iter__(self):
        step = self.start
        while True:
            for position in rank_positions(step, self.size, self.accum, self.rank, self.world_size):
                yield self.sampler.indices(position, self.size)
            step += self.size * self.accum


class BatchFetcher:
    """Reads a whole micro-batch by its list of indices (the dataset's transform works per batch)."""

    def __init__(self, data: Any):
        self.data = data

    def __getitem__(self, indices: list[int]) -> dict[str, Any]:
        return Trainer._fetch(self.data, indices)


def _as_is(batch: Any) -> Any:
    return batch


def _full(tensor: Any) -> Any:
    """A sharded (DTensor) value made whole: FSDP's gradient norm is one."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def _grad_scaler(device_type: str, enabled: bool, *, sharded: bool) -> Any:
    import torch

    if sharded and enabled:  # fp16 under FSDP: inf checks over every rank's shards
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

        return ShardedGradScaler(device_type)
    return torch.amp.GradScaler(device_type, enabled=enabled)


def load_resume(path: Path) -> Resume:
    """Read a checkpoint for resuming (weights load separately, from ``model/``)."""
    state, optim = CheckpointManager.load_state(path)
    if state is None:  # a bare model directory: weights only, a fresh loop
        return Resume(path=path, state=TrainerState(), optim=None, rng=None)
    return Resume(path=path, state=TrainerState.from_dict(state["trainer"]), optim=optim, rng=state.get("rng"))
