"""The preallocated KV cache layer: the same logits as transformers' DynamicCache, written in place."""

import pytest
import torch

from lca_core.evaluation.kv_buffer import BufferedLayer


def _run(model, cache, kw, prompt, steps):
    """Prefill ``prompt`` (batch × L) on ``cache``, then ``steps`` greedy decode steps; every step's logits."""
    past = cache.get_seq_length()
    batch, width = prompt.shape
    attention = torch.ones((batch, past + width), dtype=torch.long)
    position = past + torch.arange(width).expand(batch, -1)
    out, ids = [], prompt
    for _ in range(steps + 1):
        logits = model(input_ids=ids, attention_mask=attention, position_ids=position, use_cache=True,
                       **{kw: cache}).logits[:, -1]
        out.append(logits)
        ids, position = logits.argmax(-1)[:, None], position[:, -1:] + 1
        attention = torch.cat([attention, torch.ones((batch, 1), dtype=torch.long)], 1)
    return torch.stack(out, 1)


def test_buffered_cache_gives_the_dynamic_cache_logits_without_reallocating(tiny_model):
    import inspect

    from transformers import DynamicCache

    kw = "cache" if "cache" in inspect.signature(tiny_model.forward).parameters else "past_key_values"
    torch.manual_seed(1)
    context, prompt = torch.randint(3, 300, (1, 30)), torch.randint(3, 300, (3, 5))
    with torch.inference_mode():
        shared = DynamicCache(config=tiny_model.config)
        tiny_model(input_ids=context, use_cache=True, **{kw: shared})
        kv = [(layer.keys, layer.values) for layer in shared.layers]

        expected = _run(tiny_model, DynamicCache(
            ddp_cache_data=[(k.expand(3, -1, -1, -1), v.expand(3, -1, -1, -1)) for k, v in kv],
            config=tiny_model.config), kw, prompt, steps=6)
        buffered = DynamicCache(config=tiny_model.config)
        buffered.layers = [BufferedLayer(30 + 5 + 6, (k.expand(3, -1, -1, -1), v.expand(3, -1, -1, -1))) for k, v in kv]
        storage = [layer.keys.data_ptr() for layer in buffered.layers]
        assert buffered.get_seq_length() == 30  # the context counts before the first forward (positions, masks)
        got = _run(tiny_model, buffered, kw, prompt, steps=6)

    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert buffered.get_seq_length() == 30 + 5 + 6
    assert [layer.keys.data_ptr() for layer in buffered.layers] == storage  # written in place, never copied
    with pytest.raises(ValueError, match="overflow"):
        buffered.layers[0].update(kv[0][0].expand(3, -1, -1, -1)[:, :, :1], kv[0][1].expand(3, -1, -1, -1)[:, :, :1])
