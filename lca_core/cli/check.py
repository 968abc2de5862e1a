"""``lca-run check RUN.toml``: validate, show the hardware choices and why, compose and preprocess one datapoint."""

from __future__ import annotations

import argparse

import warnings

from lca_core.cli.common import add_run_file, load, position_warning
from lca_core.api.errors import ConfigError, ConfigProblem, RunError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_file(parser)


def run(args: argparse.Namespace) -> int:
    config = load(args)
    print(f"run file: {config.source} — valid")
    print(f"run '{config.run_name}' → {config.run_dir}")
    for kind in ("composer", "preprocessor", "scheduler", "logger"):
        component = getattr(config, kind)
        print(f"  {kind:<13} {component.name}  {component.params}")

    from lca_core.models.loading import checked_model_config, choose_hardware, load_tokenizer, model_shape
    from lca_core.training.build import build_data, checkpoint_manager, quiet_libraries

    quiet_libraries()
    hardware = choose_hardware(config.model)
    print("\nhardware (what 'auto' chose, and why):")
    for line in hardware.describe():
        print(f"  {line}")

    tokenizer = load_tokenizer(config)
    model_config = checked_model_config(config, tokenizer)
    architecture, params = model_shape(config, tokenizer, model_config=model_config)
    warning = position_warning(config, model_config)
    if warning:
        warnings.warn(warning, stacklevel=1)
    print(f"\nmodel: {config.model.name_or_path} ({architecture}, {params / 1e6:.2f}M parameters"
          f"{', random weights' if config.model.random_init else ''}); tokenizer: {len(tokenizer)} tokens")
    from lca_core.training.distributed import choose_strategy

    strategy, why = choose_strategy(config.trainer.strategy, num_params=params, param_dtype=hardware.param_dtype,
                                    device=hardware.device)
    print(f"several processes (lca-run --nproc N, torchrun): strategy {strategy} — {why}")

    train, valid, _ = build_data(config, tokenizer)
    preprocessor = config.preprocessor.instance
    if getattr(preprocessor, "padding", None) is False:  # every sample must fill a sequence
        from lca_core.api.errors import ConfigError, ConfigProblem
        from lca_core.data.short import short_datapoints, short_message

        length = preprocessor.max_seq_len
        problems = [ConfigProblem("preprocessor.padding", short_message(short, length, split))
                    for split, data in (("training", train), ("validation", valid)) if data is not None
                    if (short := short_datapoints(data, length))]
        if problems:
            raise ConfigError(problems)
    try:
        batch = train[[0]]
    except RunError as exc:  # the composer and preprocessor settings do not fit the data: fix the run file
        raise ConfigError([ConfigProblem("preprocessor", f"datapoint 0 cannot be composed and preprocessed: {exc}")],
                          source=str(config.source)) from None
    shape = tuple(batch["input_ids"].shape)
    loss_tokens = int(batch["loss_mask"].sum())
    labelled = int((batch["category_ids"] >= 0).sum()) if "category_ids" in batch else 0
    print(f"\ndatapoint 0 ({train.with_format(None)[0]['repo']}): composed and preprocessed into input_ids {shape}, "
          f"{loss_tokens} loss tokens, {labelled} tokens on categorised lines; keys: {', '.join(batch)}")

    trainer = config.trainer
    per_step = trainer.micro_batch_size * trainer.gradient_accumulation_steps
    start = checkpoint_manager(config).resolve_init(config.checkpointing.init_from, config.resolve_path)
    print(f"\nwould train: {trainer.max_iters} steps × {per_step} samples (micro {trainer.micro_batch_size} × accum "
          f"{trainer.gradient_accumulation_steps}) ≈ {trainer.max_iters * per_step * shape[1] / 1e6:.2f}M tokens, "
          f"{trainer.max_iters * per_step / len(train):.2f} epochs of {len(train)} training datapoints; "
          f"validation on {len(valid) if valid is not None else 0} every {trainer.valid_freq} steps")
    print(f"starting from: {start if start is not None else 'scratch'} (init_from = \"{config.checkpointing.init_from}\")")
    return 0
