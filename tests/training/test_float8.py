"""[model] float8: torchao's float8 training of the decoder layers' linears (emulated on the CPU here), its
config errors, and evaluation running the saved weights without it."""

from __future__ import annotations

import json

import pytest
import torch

from lca_core.api.errors import ConfigError
from lca_core.config.loader import config_from_dict
from lca_core.models.hardware import choose_hardware
from lca_core.models.loading import load_model, load_tokenizer
from tests.console import lca_run
from tests.factories import write_tiny_project

SMALL = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2}


def run_config(tmp_path, tokenizer, **model):
    tokenizer.save_pretrained(tmp_path / "tok")
    return config_from_dict({"model": {"name_or_path": "llama", "random_init": True, "tokenizer": "tok",
                                       "device": "cpu", "config": SMALL, **model},
                             "data": {"path": "embedded"}, "logger": {"name": "dummy"}}, source=tmp_path / "run.toml")


def test_float8_without_torchao_says_what_to_install(tmp_path, tokenizer, monkeypatch):
    import importlib.util

    from lca_core.models import hardware

    real = importlib.util.find_spec
    monkeypatch.setattr(hardware.importlib.util, "find_spec", lambda name, *a: None if name == "torchao" else real(name, *a))
    config = run_config(tmp_path, tokenizer, float8="tensorwise")
    with pytest.raises(ConfigError, match=r"model\.float8.*pip install torchao"):
        choose_hardware(config.model)


def test_float8_is_one_of_the_recipes(tmp_path, tokenizer):
    with pytest.raises(ConfigError, match="model.float8"):
        run_config(tmp_path, tokenizer, float8="on")


def test_float8_swaps_the_decoder_linears_and_trains_like_full_precision(tmp_path, tokenizer):
    pytest.importorskip("torchao")
    from torchao.float8.float8_linear import Float8Linear

    models = {}
    for recipe in ("off", "tensorwise"):
        config = run_config(tmp_path, tokenizer, float8=recipe)
        hardware = choose_hardware(config.model)
        models[recipe] = load_model(config, hardware, tokenizer=load_tokenizer(config))
    assert "emulates" in hardware.reasons["float8"]
    swapped = [m for m in models["tensorwise"].modules() if isinstance(m, Float8Linear)]
    assert len(swapped) == 2 * 7  # q, k, v, o, gate, up, down of both layers
    assert not isinstance(models["tensorwise"].lm_head, Float8Linear)  # the logits stay in full precision
    assert not any(isinstance(m, Float8Linear) for m in models["off"].modules())
    ids = torch.randint(3, models["off"].config.vocab_size, (2, 24))
    losses = {}
    for recipe, model in models.items():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        losses[recipe] = (loss.item(), model.model.layers[0].mlp.up_proj.weight.grad.clone())
    (loss_off, grad_off), (loss_fp8, grad_fp8) = losses["off"], losses["tensorwise"]
    assert loss_fp8 != loss_off and abs(loss_fp8 - loss_off) < 0.02 * loss_off  # rounded, not different
    assert torch.nn.functional.cosine_similarity(grad_fp8.flatten(), grad_off.flatten(), dim=0) > 0.98


@pytest.mark.slow
def test_a_float8_run_trains_saves_and_evaluates_in_full_precision(tmp_path, tokenizer):
    pytest.importorskip("torchao")
    write_tiny_project(tmp_path, tokenizer)
    check = lca_run("check", "run.toml", 'model.float8="tensorwise"', cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "float8" in check.stdout and "emulates FP8" in check.stdout
    done = lca_run("run.toml", 'model.float8="tensorwise"', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in saved.iterdir() if p.is_dir())  # checkpoints of plain weights ...
    evaluated = lca_run("eval", "run.toml", 'model.float8="tensorwise"', "--mode", "teacher-forced", "--limit", "2",
                        cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr  # ... that evaluation loads without FP8
    results = json.loads((tmp_path / "run" / "eval" / "eval.json").read_text())["results"]
    assert results and results[0]["model"].startswith("best")
