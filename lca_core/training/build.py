"""Assembling a run from its configuration: hardware, tokenizer, model, data pipeline, logger, trainer."""

from __future__ import annotations

import random
import warnings
from typing import Any

from lca_core.api.components import Runtime, make_runtime
from lca_core.api.loggers import LoggerBase
from lca_core.training.changes import check_data, check_resume, data_fingerprint
from lca_core.training.checkpoint import CheckpointManager


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quiet_libraries() -> None:
    """Library progress bars and info logs are noise on the terminal; our own bar says what matters."""
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()


def checkpoint_manager(config: Any) -> CheckpointManager:
    section = config.checkpointing
    return CheckpointManager(config.run_dir / "checkpoints", main_metric=section.main_metric, mode=section.mode,
                             top_k=section.top_k)


def build_data(config: Any, tokenizer: Any, *, rank: int = 0, world_size: int = 1) -> tuple[Any, Any, Runtime]:
    """(train, valid | None, runtime): datasets with the composer + preprocessor transform set."""
    from lca_core.composing.pipeline import make_transform
    from lca_core.data.prepare import prepare_datasets

    runtime = make_runtime(config, tokenizer, rank=rank, world_size=world_size)
    composer = config.composer.build(runtime)
    preprocessor = config.preprocessor.build(runtime)
    train, valid = prepare_datasets(config)
    transform = make_transform(composer, preprocessor)
    train.set_transform(transform)
    if valid is not None:
        valid.set_transform(transform)
    return train, valid, runtime


def build_trainer(config: Any, *, progress: Any = True, allow_changes: bool = False, record: str | None = None) -> Any:
    """Everything the run file describes, wired together and resumed where init_from says.

    ``record``: the resolved configuration as TOML (config/snapshot.py), kept in every checkpoint. Resuming
    a checkpoint of this run under another one, or changed training data, is refused (training/changes.py)
    unless ``allow_changes``. ``progress`` is a `ProgressSettings` (or a bool: a bar on a terminal or not)."""
    from lca_core.api.plugins import get_plugin_manager
    from lca_core.models.loading import choose_hardware, load_model, load_tokenizer
    from lca_core.training.distributed import init_distributed, main_first
    from lca_core.training.resume import load_resume
    from lca_core.training.trainer import Trainer

    quiet_libraries()
    seed_everything(config.run.seed)
    checkpoints = checkpoint_manager(config)
    checkpoints.clean_partial()
    start = checkpoints.resolve_init(config.checkpointing.init_from, config.resolve_path)
    own = start is not None and start.resolve().parent == checkpoints.root.resolve()  # this run's: a resume
    changes = check_resume(start, record, allow_changes=allow_changes) if own and record is not None else []
    if start is None and config.checkpointing.init_from == "scratch" and checkpoints.complete():
        warnings.warn(f"init_from = \"scratch\" but {checkpoints.root} already holds checkpoints; "
                      "they will be overwritten as this run reaches their iterations", stacklevel=2)
    hardware = choose_hardware(config.model)
    distributed = init_distributed(hardware.device)  # one process unless started by torchrun
    model_dir = CheckpointManager.model_dir(start) if start is not None else None
    has_tokenizer = model_dir is not None and any((model_dir / f).exists()
                                                  for f in ("tokenizer.json", "tokenizer_config.json"))
    with main_first(distributed):  # rank 0 fills the tokenizer and dataset caches, then the others read them
        tokenizer = load_tokenizer(config, from_dir=model_dir if has_tokenizer else None)
        train, valid, runtime = build_data(config, tokenizer, rank=distributed.rank,
                                           world_size=distributed.world_size)
    fingerprint = data_fingerprint(train)
    if own:
        changes += check_data(start, fingerprint, allow_changes=allow_changes)
    for change in changes:
        warnings.warn(f"resuming {start} with a changed configuration (--allow-changes): {change}", stacklevel=2)
    seed_everything(config.run.seed)  # the same random init on every rank (FSDP shards it without a broadcast)
    model = load_model(config, hardware, tokenizer=tokenizer, from_dir=model_dir, match_config=True)
    scheduler = config.scheduler.build(runtime)
    # only rank 0 writes logs, W&B and checkpoints
    logger = config.logger.build(runtime) if distributed.is_main else LoggerBase()  # the base records nothing
    resume = load_resume(start) if start is not None else None
    trainer = Trainer(config=config, model=model, tokenizer=tokenizer, hardware=hardware, train_data=train,
                      valid_data=valid, scheduler=scheduler, logger=logger, checkpoints=checkpoints, resume=resume,
                      plugin_manager=get_plugin_manager(), progress=progress, distributed=distributed)
    trainer.data_fingerprint, trainer.config_record = fingerprint, record
    return trainer
