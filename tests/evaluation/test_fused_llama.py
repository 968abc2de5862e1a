"""FusedLlama: the same logits and KV writes as the model's own modules over the row buffers, in fewer ops."""

import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lca_core.evaluation.fused_llama import FusedLlama, _rotated_rows, unsupported
from lca_core.evaluation.shared_prefix import (
    ATTENTION_NAME, DecodeGraph, RowBuffers, SharedKV, attention_implementation, model_forward,
)

#: ops that only make views or allocate (no kernel on a GPU)
NO_KERNEL = {"view", "_unsafe_view", "transpose", "permute", "expand", "slice", "select", "unsqueeze", "squeeze",
             "as_strided", "t", "alias", "detach", "split", "split_with_sizes", "unbind", "empty", "chunk",
             "reshape", "_reshape_alias", "lift_fresh"}


class CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ not in NO_KERNEL:
            self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def test_rotated_rows_give_rotate_half_of_the_projection():
    from transformers.models.llama.modeling_llama import rotate_half

    torch.manual_seed(0)
    weight, x = torch.randn(3 * 8, 16), torch.randn(5, 16)
    expected = rotate_half((x @ weight.T).view(5, 3, 8)).reshape(5, 24)
    assert torch.equal(x @ _rotated_rows(weight, 8).T, expected)  # a signed row permutation: exact


def test_only_plain_llama_layers_qualify(tiny_model):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    assert unsupported(tiny_model) is None
    small = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    assert "bias" in unsupported(LlamaForCausalLM(LlamaConfig(**small, attention_bias=True)))
    assert "gpt2" in unsupported(GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=64)))

    class Adapter(torch.nn.Linear):  # e.g. a LoRA or quantized linear: its forward is not weight @ x
        pass

    model = LlamaForCausalLM(LlamaConfig(**small))
    model.model.layers[0].mlp.up_proj.__class__ = Adapter
    assert "torch.nn.Linear" in unsupported(model)


def _run(forward, model, shared, tokens, positions, slots, seen):
    """A prefill of ``tokens`` into fresh row buffers, then one decode step; (buffers, logits of both)."""
    rows = RowBuffers(model, tokens.shape[0], 16, shared)
    rows.shared_len.copy_(torch.tensor(seen))
    rows.active = torch.arange(tokens.shape[0])[:, None]
    rows.query_slot, rows.prefill_seen = slots, seen
    with torch.inference_mode(), attention_implementation(model, ATTENTION_NAME):
        prefill = forward(tokens, positions, rows, torch.tensor([tokens.shape[1] - 1]))
        step = DecodeGraph(forward, rows).step(tokens[:, :1], positions[:, -1:] + 1, slots[:, -1:] + 1)
    return rows, prefill, step


def test_same_logits_and_cache_as_the_models_own_modules(tiny_model):
    torch.manual_seed(1)
    shared = SharedKV(tiny_model, 64)
    with torch.inference_mode():
        shared.keys.normal_()
        shared.values.normal_()
    tokens = torch.randint(3, tiny_model.config.vocab_size, (3, 4))
    seen = [10, 20, 7]
    positions = torch.tensor(seen)[:, None] + torch.arange(4)
    slots = torch.arange(4).expand(3, -1)
    fused = _run(FusedLlama(tiny_model).forward, tiny_model, shared, tokens, positions, slots, seen)
    own = _run(lambda *a: model_forward(tiny_model, *a), tiny_model, shared, tokens, positions, slots, seen)
    for mine, theirs in zip(fused[1:], own[1:]):
        assert torch.allclose(mine, theirs, atol=1e-5, rtol=1e-5)
    assert torch.allclose(fused[0].row_k, own[0].row_k, atol=1e-6) and fused[0].row_k.abs().sum() > 0
    assert torch.allclose(fused[0].row_v, own[0].row_v, atol=1e-6)


def test_a_decode_step_takes_half_the_ops():
    """The lever itself: a step of a SmolLM2-shaped model (30 layers) counted op by op (≈ kernels on a GPU)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=96, num_hidden_layers=30, num_attention_heads=3, num_key_value_heads=1,
                         intermediate_size=128, vocab_size=256)
    model = LlamaForCausalLM(config).eval()
    shared = SharedKV(model, 32)
    counts = {}
    for name, forward in (("own", lambda *a: model_forward(model, *a)), ("fused", FusedLlama(model).forward)):
        graph = DecodeGraph(forward, RowBuffers(model, 4, 8, shared))
        ones = torch.ones((4, 1), dtype=torch.long)
        with torch.inference_mode(), attention_implementation(model, ATTENTION_NAME), CountOps() as counter:
            graph.step(ones, ones, ones)
        counts[name] = sum(counter.ops.values())
    assert counts["fused"] < 0.55 * counts["own"], counts


@pytest.mark.parametrize("fused", [True, False])
def test_the_completer_uses_the_fused_forward_for_llama_only_when_asked(tiny_model, tokenizer, fused):
    from lca_core.evaluation.generate import LineCompleter

    completer = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=256, fused_layers=fused)
    forward = completer.rows_forward()
    assert isinstance(getattr(forward, "__self__", None), FusedLlama) == fused
