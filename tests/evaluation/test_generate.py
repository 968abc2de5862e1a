"""Greedy line completion: prefix reuse gives the baseline's predictions; stopping and truncation rules."""

import pytest
import torch

from lca_core.evaluation.generate import CHARS_PER_TOKEN_BOUND, LineCompleter, file_prefix, first_line, tail
from tests.factories import DEFAULT_COMPLETION, DEFAULT_SNAPSHOT

CONTEXT = "# owner__demo\n" + "\n\n".join(f"# {name}\n{text}" for name, text in DEFAULT_SNAPSHOT.items()) + "\n\n"
COMPLETION = "# pkg/main.py\n" + DEFAULT_COMPLETION
LINES = [2, 4, 5, 6, 7, 8]


def test_prompt_pieces():
    assert file_prefix("a\nb\nc\n", 2) == "a\nb\n"
    assert file_prefix("a\nb\n", 0) == ""
    assert first_line("\n\n  x = 1\ny") == "  x = 1"
    assert tail([1, 2, 3], 0) == [] and tail([1, 2, 3], 2) == [2, 3]


@pytest.mark.parametrize(("batch_size", "fused"), [(0, True), (1, True), (4, True), (5, True), (4, False)])
def test_prefix_reuse_predicts_exactly_what_the_baseline_does(tiny_model, tokenizer, batch_size, fused):
    reuse = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=512, max_new_tokens=12,
                          batch_size=batch_size, prefix_reuse=True, fused_layers=fused)
    baseline = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=512, max_new_tokens=12,
                             prefix_reuse=False)
    predicted = reuse.complete(CONTEXT, COMPLETION, LINES)
    assert predicted == baseline.complete(CONTEXT, COMPLETION, LINES)
    assert len(predicted) == len(LINES) and all("\n" not in p for p in predicted)
    assert len(set(predicted)) > 1  # a degenerate model answering one string everywhere would prove nothing


@pytest.mark.parametrize("fused", [True, False])
def test_one_long_forward_per_file_and_short_own_prefills(tiny_model, tokenizer, fused):
    completer = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=512, max_new_tokens=6,
                              batch_size=8, fused_layers=fused)
    shared, rows = [], []
    handle = tiny_model.register_forward_pre_hook(  # the model's own forward: the shared prefill (and rows, unfused)
        lambda module, args, kwargs: (rows if "lca_rows" in kwargs else shared).append(kwargs["input_ids"].shape[-1]),
        with_kwargs=True)
    forward = completer.rows_forward()
    completer._rows_forward = lambda tokens, *rest: (rows.append(tokens.shape[-1]), forward(tokens, *rest))[1]
    try:
        completer.complete(CONTEXT, COMPLETION, LINES)
    finally:
        handle.remove()
    ctx, prefixes = completer.encode(CONTEXT, COMPLETION, LINES)
    assert shared == [len(ctx) + max(len(p) for p in prefixes) - 1]  # the longest prompt, once
    if not fused:  # the wrapper and the model's hook both saw each rows forward
        rows = rows[::2]
    assert rows[0] < 8  # each row prefills only where its prompt leaves the longest one
    assert len(rows) > 2 and all(n == 1 for n in rows[1:])  # then one token per decode step for all rows together


def test_rows_that_leave_the_shared_prompt_early_still_match_the_baseline(tiny_model, tokenizer):
    """Prompts are not always prefixes of the longest one (here: unrelated token runs of any length)."""
    import random

    rng = random.Random(7)
    vocab = len(tokenizer)
    ctx = [tokenizer.bos_token_id] + [rng.randrange(3, vocab) for _ in range(40)]
    prefixes = [[rng.randrange(3, vocab) for _ in range(n)] for n in (0, 1, 3, 17, 30, 2)]
    prefixes[3][:5] = prefixes[4][:5]  # some shared file tokens, then different ones
    common = dict(model=tiny_model, tokenizer=tokenizer, max_seq_len=256, max_new_tokens=5, min_new_tokens=5)
    reuse = LineCompleter(**common, batch_size=3).complete_ids(ctx, prefixes)
    assert reuse == LineCompleter(**common, prefix_reuse=False).complete_ids(ctx, prefixes)


def test_a_file_longer_than_the_window_still_matches_the_baseline(tiny_model, tokenizer, monkeypatch):
    """Long lines' prompts are cut from the left differently, so they share little; and the rows' own
    prefill is split into several forwards (a tiny token budget here)."""
    from lca_core.evaluation import generate

    monkeypatch.setattr(generate, "PREFILL_TOKENS", 40)
    common = dict(model=tiny_model, tokenizer=tokenizer, max_seq_len=48, max_new_tokens=6)
    ctx, prefixes = LineCompleter(**common).encode(CONTEXT, COMPLETION, LINES)
    assert len({p[0] for p in prefixes if p}) > 1  # cut at different places: no common file prefix
    reuse = LineCompleter(**common, batch_size=4).complete(CONTEXT, COMPLETION, LINES)
    assert reuse == LineCompleter(**common, prefix_reuse=False).complete(CONTEXT, COMPLETION, LINES)


def test_shared_prompt_is_the_one_others_reuse_most():
    from lca_core.evaluation.generate import shared_prompt

    uncut = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9]]
    cut = [[1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]]  # longest, but shares only its first token
    full, seen = shared_prompt(uncut + cut)
    assert full == uncut[2]
    assert seen == [4, 6, 8, 1]


def test_context_is_cut_from_the_left_once_per_file_keeping_bos(tiny_model, tokenizer):
    completer = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=160, max_new_tokens=10)
    ctx, prefixes = completer.encode(CONTEXT, COMPLETION, LINES)
    full = tokenizer(CONTEXT[-CHARS_PER_TOKEN_BOUND * 160:]).input_ids  # pre-cut by characters, as the reference
    assert ctx[0] == tokenizer.bos_token_id
    assert 1 < len(ctx) - 1 < len(full)  # cut, not dropped
    assert len(ctx) + max(len(p) for p in prefixes) + 10 == 160  # the longest prompt just fits
    assert ctx[1:] == full[len(full) - (len(ctx) - 1):]  # the nearest context survives
    assert prefixes[-1] == tokenizer(file_prefix(COMPLETION, LINES[-1]), add_special_tokens=False).input_ids


def test_a_file_prefix_longer_than_the_window_is_cut_from_the_left(tiny_model, tokenizer):
    completer = LineCompleter(model=tiny_model, tokenizer=tokenizer, max_seq_len=40, max_new_tokens=10)
    ctx, prefixes = completer.encode(CONTEXT, COMPLETION, LINES)
    whole = tokenizer(file_prefix(COMPLETION, LINES[-1]), add_special_tokens=False).input_ids
    assert ctx == [tokenizer.bos_token_id]
    assert prefixes[-1] == whole[len(whole) - 29:]


def _always(model, token_id):
    """The tiny model rewired to predict ``token_id`` at every position (zero head weights, one-hot bias)."""
    bias = torch.full((model.config.vocab_size,), -10.0)
    bias[token_id] = 10.0
    model.lm_head.weight.data.zero_()
    model.lm_head.bias = torch.nn.Parameter(bias)
    return model


def _forward_calls(model, completer, lines):
    calls = []
    handle = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        return completer.complete(CONTEXT, COMPLETION, lines), len(calls)
    finally:
        handle.remove()


def test_a_newline_ends_a_line_only_after_min_new_tokens(tokenizer):
    import copy

    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=tokenizer.eos_token_id)
    base = LlamaForCausalLM(config).eval()
    newline = tokenizer("\n", add_special_tokens=False).input_ids[-1]
    letter = tokenizer("x", add_special_tokens=False).input_ids[0]

    model = _always(copy.deepcopy(base), newline)
    for min_new, steps in ((1, 1), (3, 3)):
        completer = LineCompleter(model=model, tokenizer=tokenizer, max_seq_len=256, max_new_tokens=20,
                                  min_new_tokens=min_new, prefix_reuse=False)
        predicted, calls = _forward_calls(model, completer, [3])
        assert (predicted, calls) == ([""], steps)  # one prefill, then a forward per further token

    model = _always(copy.deepcopy(base), letter)
    completer = LineCompleter(model=model, tokenizer=tokenizer, max_seq_len=256, max_new_tokens=7, prefix_reuse=False)
    predicted, calls = _forward_calls(model, completer, [3])
    assert (predicted, calls) == (["x" * 7], 7)  # no newline: stopped by max_new_tokens

