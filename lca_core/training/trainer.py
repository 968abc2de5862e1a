"""The fine-tuning loop: one class whose `train()` reads top to bottom (nanoGPT / torchtune style).

Each iteration: set the learning rate → fetch ``accum`` micro-batches → forward/backward each, with
the loss weighted by target tokens across the whole accumulated batch → clip → step → log →
validate / checkpoint at their frequencies. Resume restores weights, optimizer, scaler, RNG states and
the sampler position, so a run killed at any point continues exactly as if it had never stopped.

What is not the step lives beside it: the checkpoint protocol (resume.py, checkpoint.py), feeding
micro-batches (loader.py), failure recovery (recovery.py, faults.py) and processes (distributed.py).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from lca_core.training.checkpoint import CheckpointManager
from lca_core.training.distributed import (
    Distributed,
    choose_strategy,
    is_sharded,
    per_rank_accumulation,
    set_gradient_sync,
    wrap_model,
)
from lca_core.training.faults import (
    NonFiniteLoss,
    NonFiniteModel,
    RunStopped,
    StopSignals,
    check_optimizer_settings,
    datapoint_ids,
    nonfinite_message,
    nonfinite_model_message,
    nonfinite_tensors,
    out_of_memory,
)
from lca_core.training.loader import fetch, worker_batches
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
from lca_core.training.packing import pack_micro_batch, packed_forward_kwargs
from lca_core.training.optim import build_grad_scaler, build_optimizer, set_learning_rate
from lca_core.training.progress import ProgressSettings, make_progress
from lca_core.training.recovery import after_failure
from lca_core.training.resume import Resume, restore, save_checkpoint
from lca_core.training.sampler import FusedSampler, rank_positions
from lca_core.training.state import TrainerState, capture_rng


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

        self.config, self.cfg = config, config.trainer  # cfg: the [trainer] table
        self.model, self.tokenizer, self.hardware = model, tokenizer, hardware
        self.train_data, self.valid_data = train_data, valid_data
        self.scheduler, self.logger, self.checkpoints = scheduler, logger, checkpoints
        self.plugins, self.progress = plugin_manager, progress
        self.device = torch.device(hardware.device)

        torch.set_float32_matmul_precision(self.cfg.fp32_matmul_precision)
        if self.cfg.cpu_threads > 0:
            torch.set_num_threads(self.cfg.cpu_threads)
        self.dist = distributed or Distributed()
        self.accum_per_rank = per_rank_accumulation(self.cfg.gradient_accumulation_steps, self.dist.world_size)
        self.num_params = sum(p.numel() for p in model.parameters())
        self.strategy, self.strategy_reason = choose_strategy(
            self.cfg.strategy, num_params=self.num_params, param_dtype=hardware.param_dtype, device=hardware.device)
        # the loss runs inside the wrapper's forward, where DDP / FSDP do their work (distributed.py)
        self.engine = wrap_model(model, self.strategy, self.dist, hardware.device)
        self.optimizer = build_optimizer(model, self.cfg)  # after wrapping: FSDP swaps in sharded parameters
        self.scaler = build_grad_scaler(self.device.type, hardware.grad_scaler, sharded=is_sharded(self.engine))
        self.sampler = FusedSampler(len(train_data), seed=config.run.seed, shuffle=self.cfg.shuffle)
        self.state = TrainerState()
        self._loader = None
        # (sample position, RNG states) at the start of the step in progress; None at a step boundary
        self.step_start: tuple[int, dict[str, Any]] | None = None
        self.updating = False  # inside optimizer.step: the weights are half-updated, never save them
        self.resumed_from: int | None = None
        # kept in each checkpoint, for a resume to compare with (changes.py); set by build.py
        self.data_fingerprint: str | None = None
        self.config_record: str | None = None  # the resolved configuration as TOML
        self.restart_command: str | None = None  # the command that continues this run, for the stop message
        if resume is not None:
            restore(self, resume)
        self.logged_iteration = self.state.iteration  # the last step whose train row is logged (recovery.py)

        self.train_metrics = MetricAccumulator()
        vocab = model.get_output_embeddings().weight.shape[0]
        self.valid_metrics = MetricAccumulator(
            newline_ids=newline_token_mask(tokenizer, vocab).to(self.device) if valid_data is not None else None)
        # Full-vocabulary logits cost 2 GiB (DSC) to 6 GiB (OpenCoder) per fp32 copy at 16k tokens:
        # the loss is taken from the final hidden states, chunk by chunk (lca_core/training/loss.py).
        self.loss_impl = resolve_loss_impl(self.cfg.loss_impl, self.device.type) \
            if supports_hidden_state_loss(model) else "full"
        if self.cfg.packing:  # samples end to end in one row; attention stays inside each (packing.py)
            from lca_core.models.packed_attention import use_packed_attention

            use_packed_attention(model)

    # --- the loop -----------------------------------------------------------------------------------

    def train(self) -> TrainerState:
        """Run until ``trainer.max_iters`` optimizer steps are done; returns the final state."""
        max_iters = self.cfg.max_iters
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
                self.logged_iteration = iteration
                self._notify("lca_after_optimizer_step", iteration=iteration, metrics=train_metrics,
                             learning_rate=train_metrics["learning_rate"])
                progress.update(iteration, train_metrics)
                last = iteration == max_iters
                if self._validating and (iteration % self.cfg.valid_freq == 0 or last):
                    progress.validated(iteration, self.validate())
                freq = self.config.checkpointing.freq
                saved = None
                if last or (freq and iteration % freq == 0):
                    saved = self.save(train_metrics)
                if stop.requested and not last:  # SIGTERM / SIGINT: a checkpoint at this step boundary, then stop
                    saved = saved or self.save(train_metrics)
                    raise stop.stopped(iteration, max_iters, saved, self.restart_command)
            progress.close()
            status = "completed"
        except (KeyboardInterrupt, RunStopped):
            status = "stopped"
            raise
        except BaseException as exc:
            error = exc
            reported = after_failure(self, exc)
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
        lr = self.scheduler.lr(iteration, self.cfg.learning_rate)
        set_learning_rate(self.optimizer, lr)
        self.model.train()

        self.step_start = (self.state.sample_position, capture_rng())
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
        if self.cfg.max_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.max_grad_norm)
        # Non-finite loss or gradient: caught before the optimizer step (under fp16 the scaler skips inf gradients
        # itself). One host sync, decided alike on every rank (or replicas diverge).
        bad = ~torch.isfinite(step_loss)
        if grad_norm is not None and not self.scaler.is_enabled():
            bad = bad | ~torch.isfinite(_full(grad_norm))
        if self.dist.all_reduce_sum([float(bad)])[0] > 0:
            self.optimizer.zero_grad(set_to_none=True)
            if grad_norm is not None and self.scaler.is_enabled():
                self.scaler.update()  # close the unscale_ above: the next step may unscale again
            if broken := nonfinite_tensors(self.model):  # the weights, not the data: skipping cannot help
                self.updating = True  # never save this state
                raise NonFiniteModel(nonfinite_model_message(broken, f"at iteration {iteration + 1}"))
            if self.cfg.on_nonfinite == "stop":
                ids = datapoint_ids(self.train_data, self.sampler.indices(self.step_start[0], len(micro_batches)
                                                                            * self.cfg.micro_batch_size))
                what = (f"loss ({float(step_loss)})" if not bool(torch.isfinite(step_loss))
                        else f"gradient norm ({float(_full(grad_norm))})")
                raise NonFiniteLoss(nonfinite_message(what, iteration + 1, ids))
            self.state.skipped_steps += 1  # "skip": this step changes no weight and no optimizer moment
        else:
            check_optimizer_settings(self.optimizer, iteration + 1)
            self.updating = True
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.updating = False
            self.optimizer.zero_grad(set_to_none=True)

        self.step_start = None
        self.state.iteration += 1
        self.state.tokens_seen += tokens
        metrics = self.train_metrics.compute(self._reduce)  # the one host sync of the step
        elapsed = time.perf_counter() - started
        metrics.update(self._step_statistics(lr, grad_norm, tokens, elapsed))
        return metrics

    def validate(self) -> dict[str, float]:
        """One pass over the validation set; logs and returns token-weighted metrics."""
        import torch

        self.model.eval()
        self.valid_metrics.reset()
        size, count, world = self.cfg.micro_batch_size, len(self.valid_data), self.dist.world_size
        with torch.no_grad():
            # Rank r takes batches r, r + world, ...; every rank runs the same number of forwards (FSDP's are
            # collective), so one past the end repeats batch 0 and is not counted.
            for round_ in range(-(-count // (size * world))):
                start = (round_ * world + self.dist.rank) * size
                counted = start < count
                indices = list(range(start, min(start + size, count))) if counted else list(range(min(size, count)))
                batch = self._to_device(fetch(self.valid_data, indices))
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
        """Write checkpoint ``NNNN`` atomically; it holds everything exact resume needs (resume.py)."""
        self.state.logger_state = dict(self.logger.state())
        metrics = {"iteration_number": self.state.iteration, "train_metrics": train_metrics,
                   "valid_metrics": self.state.last_valid}
        path = save_checkpoint(self, metrics)
        self.logger.message("INFO", {"checkpoint": str(path), "iteration": self.state.iteration})
        self._notify("lca_after_checkpoint", iteration=self.state.iteration, path=path, metrics=metrics)
        return path

    @contextlib.contextmanager
    def _out_of_memory(self, phase: str, batch: dict[str, Any]):
        """Turn a CUDA out-of-memory error into one naming the batch shape and what would fit."""
        import torch

        try:
            yield
        except torch.OutOfMemoryError as exc:
            raise out_of_memory(exc, phase=phase, iteration=self.state.iteration + (phase == "training"),
                                shape=tuple(batch["input_ids"].shape), trainer=self.cfg,
                                gradient_checkpointing=self.hardware.gradient_checkpointing) from None

    # --- data ---------------------------------------------------------------------------------------

    def next_micro_batches(self) -> list[dict[str, Any]]:
        """This rank's micro-batches of the step at the sampler's position; the position then moves past the
        whole step (every rank's share), so it is the same global position on every rank."""
        size, accum = self.cfg.micro_batch_size, self.cfg.gradient_accumulation_steps
        out = []
        for position in rank_positions(self.state.sample_position, size, accum, self.dist.rank, self.dist.world_size):
            if self.cfg.num_workers > 0:
                out.append(next(self._worker_batches()))
            else:
                out.append(fetch(self.train_data, self.sampler.indices(position, size)))
        self.state.sample_position += size * accum
        if self.cfg.packing:
            out = [pack_micro_batch(batch) for batch in out]
        return out

    def _worker_batches(self):
        """DataLoader workers compose and tokenize ahead, reading the same stream from the same position."""
        if self._loader is None:
            self._loader = worker_batches(self.train_data, self.sampler, start=self.state.sample_position, cfg=self.cfg,
                                          rank=self.dist.rank, world_size=self.dist.world_size,
                                          seed=self.config.run.seed, pin_memory=self.device.type == "cuda")
        return self._loader

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        mask = batch.get("attention_mask")
        if mask is not None and bool(mask.all()):
            # Checked here on the host copy (a device check would sync): without a mask SDPA keeps its
            # fused causal kernel, and the metrics treat every target as real, as an all-true mask says.
            batch = {k: v for k, v in batch.items() if k != "attention_mask"}
        if self.device.type == "cuda":  # pinned pages let the copy overlap the previous micro-step
            return {k: v.pin_memory().to(self.device, non_blocking=True) if hasattr(v, "pin_memory") else v
                    for k, v in batch.items()}
        return {k: v.to(self.device) if hasattr(v, "to") else v for k, v in batch.items()}

    @staticmethod
    def _input_tokens(batch: dict[str, Any]) -> int:
        mask = batch.get("attention_mask")
        return int(mask.sum()) if mask is not None else batch["input_ids"].numel()

    # --- model --------------------------------------------------------------------------------------

    def _forward(self, batch: dict[str, Any], *, hidden_states: bool = False) -> Any:
        """The logits, or with ``hidden_states`` the decoder's final hidden states (no output projection)."""
        packed = packed_forward_kwargs(batch)  # positions and sample bounds of a packed row, else nothing
        if hidden_states:
            out = self.model.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                                           **packed)
            return out.last_hidden_state
        return self.model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"), **packed).logits

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
        return self.valid_data is not None and len(self.valid_data) > 0 and self.cfg.valid_freq > 0

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
            seq_len = tokens / max(1, self.cfg.micro_batch_size * self.cfg.gradient_accumulation_steps)
            per_token = flops_per_token(self.num_params, cfg.num_hidden_layers, cfg.hidden_size, int(seq_len))
            stats["mfu"] = stats["tokens_per_second"] / self.dist.world_size * per_token / PEAK_FLOPS
            stats["peak_memory_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
        return stats

    def _notify(self, hook: str, **kwargs: Any) -> None:
        if self.plugins is not None:
            self.plugins.notify(hook, **kwargs)

    def _reduce(self, sums: dict[str, list[float]]) -> dict[str, list[float]]:
        return self.dist.sum_by_name(sums)

    def describe_distributed(self) -> str:
        """What a distributed run chose: processes, strategy and why, micro-batches per process."""
        return (f"{self.dist.world_size} processes ({self.dist.backend}), strategy {self.strategy} "
                f"({self.strategy_reason}); gradient_accumulation_steps = {self.cfg.gradient_accumulation_steps} "
                f"global → {self.accum_per_rank} micro-batches of {self.cfg.micro_batch_size} per process per step")



def _full(tensor: Any) -> Any:
    """A sharded (DTensor) value made whole: FSDP's gradient norm is one."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
