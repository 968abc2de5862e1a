"""A real tiny Llama (random weights, dropout 0) and a real byte-level BPE trained here, shared by the eval tests."""

from pathlib import Path

import pytest

from tests.factories import DEFAULT_COMPLETION, DEFAULT_SNAPSHOT

CORPUS = [DEFAULT_COMPLETION, *DEFAULT_SNAPSHOT.values(), Path(__file__).read_text(),
          (Path(__file__).parent / "test_metrics.py").read_text()]


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from lca_core.models.local_tokenizer import build_local_tokenizer

    return build_local_tokenizer(CORPUS, tmp_path_factory.mktemp("tokenizer"), vocab_size=400)


@pytest.fixture(scope="session")
def tiny_model(tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(1)  # tiny matrices: threads only contend with the other test processes
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, attention_dropout=0.0,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config).eval()
