"""Property tests of the built-in preprocessors on a real byte-level BPE: lengths, kept parts, masks, categories."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lca_core.composing.preprocessing import CATEGORY_IDS, NO_CATEGORY
from tests.preprocessing.helpers import make_preprocessor

PIECES = ["def", " f", "(x)", ":", "\n", "\n    ", "    ", " return", " x", " = ", "1234567", "_id", "é", "日本",
          "  ", "\t", "#", " # note", "'s", "\"\"\"", "import", " os", ".", "\n\n", "🙂", "0"]
text = st.lists(st.sampled_from(PIECES), max_size=400).map("".join)
line = st.lists(st.sampled_from([p for p in PIECES if "\n" not in p]), max_size=12).map("".join)
CATEGORY_NAMES = sorted(CATEGORY_IDS)


@st.composite
def samples(draw):
    lines = draw(st.lists(line, min_size=1, max_size=30))
    completion = "# pkg/mod.py\n" + "\n".join(lines) + "\n"
    labels = draw(st.lists(st.sampled_from(CATEGORY_NAMES), min_size=len(lines), max_size=len(lines)))
    completion_lines: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if draw(st.booleans()):  # some lines stay unlabelled
            completion_lines.setdefault(label, []).append(index + 1)
    return {
        "pre_context_prompt": draw(st.sampled_from(["# owner__repo\n", "", "# a__b\n" * 20])),
        "composed_context": draw(text),
        "composed_completion": completion,
        "completion_lines": completion_lines,
    }


def full_ids(tokenizer, value):
    return tokenizer.backend_tokenizer.encode(value, add_special_tokens=False).ids


def expected_sizes(name, params, n_prompt, n_context, n_completion, has_bos=True):
    """(p, c, m) by the documented rules, computed from the full tokenization."""
    room = params["max_seq_len"] + 1 - has_bos
    if name == "file_level":
        p = min(n_prompt, room)
        return p, 0, min(n_completion, room - p)
    ctx = params["context_tokens"]
    ctx = int(params["max_seq_len"] * ctx) if isinstance(ctx, float) else ctx
    if name == "lm":
        p = min(n_prompt, room - ctx)
        m = min(n_completion, room - ctx - p)
        return p, min(n_context, room - p - m), m
    p = min(n_prompt, room - ctx)
    m = min(n_completion, room - ctx - p)
    c = min(n_context, room - p - m)
    if n_context < ctx:
        c = n_context
        p = min(n_prompt, room - c)
        m = min(n_completion, room - p - c)
    return p, c, m


CASES = [
    ("lm", {"max_seq_len": 64, "context_tokens": 0.5, "loss_ratio": 0.3125, "padding": True}),
    ("lm", {"max_seq_len": 48, "context_tokens": 10, "loss_ratio": 1.0, "padding": True}),
    ("completion_loss", {"max_seq_len": 64, "context_tokens": 32, "loss_ratio": 0.9}),
    ("completion_loss", {"max_seq_len": 40, "context_tokens": 0.25, "loss_ratio": 1.0}),
    ("file_level", {"max_seq_len": 32, "loss_ratio": 0.5}),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(samples(), min_size=1, max_size=3), chars_per_token=st.sampled_from([0.5, 1.0, 2.0, 6.0]))
def test_layout_tensors_and_masks_follow_the_documented_rules(tokenizer, name, params, batch, chars_per_token):
    pre = make_preprocessor(name, tokenizer, num_chars_per_token=chars_per_token, **params)
    reference = make_preprocessor(name, tokenizer, num_chars_per_token=0.0, **params)
    out = pre(batch)
    expected_out = reference(batch)
    # pre-truncation never changes the result
    assert out.keys() == expected_out.keys()
    for key in out:
        assert out[key].equal(expected_out[key]), key

    L = params["max_seq_len"]
    assert out["input_ids"].shape[1] <= L
    for row, (sample, layout) in enumerate(zip(batch, pre.layouts(batch))):
        prompt_ids = full_ids(tokenizer, sample["pre_context_prompt"])
        context_ids = full_ids(tokenizer, sample["composed_context"])
        completion_enc = tokenizer.backend_tokenizer.encode(sample["composed_completion"], add_special_tokens=False)
        p, c, m = expected_sizes(name, params, len(prompt_ids), len(context_ids), len(completion_enc.ids))
        spans = {span.name: span for span in layout.spans}
        # the prompt and the context keep their tails, the completion its head
        assert spans["prompt"].ids == prompt_ids[len(prompt_ids) - p:]
        assert spans.get("context") is None or spans["context"].ids == context_ids[len(context_ids) - c:]
        assert spans["completion"].ids == completion_enc.ids[:m]
        length = 1 + p + c + m
        assert length <= L + 1

        # the tensors hold that sequence, then padding
        valid = out["attention_mask"][row] if "attention_mask" in out else None
        n = length - 1
        assert layout.ids == out["input_ids"][row, :n].tolist() + out["target_ids"][row, n - 1 : n].tolist()
        if valid is not None:  # the original's pad mask[:, :-1]: the last real token is a valid input too
            width = out["input_ids"].shape[1]
            assert valid.tolist() == [True] * min(n + 1, width) + [False] * (width - n - 1)
        else:
            assert n == out["input_ids"].shape[1]

        # masks: exactly the documented positions
        loss_count = math.ceil(round(params["loss_ratio"] * (n if name == "lm" else m), 9))
        assert out["loss_mask"][row].nonzero().flatten().tolist() == list(range(n - loss_count, n))
        assert out["completion_mask"][row].nonzero().flatten().tolist() == list(range(n - m, n))
        assert out["target_ids"][row, n - m : n].tolist() == completion_enc.ids[:m]

        # categories: every token inside a labelled line carries its category, -1 outside the completion
        categories = out["category_ids"][row].tolist()
        assert all(value == NO_CATEGORY for value in categories[: n - m] + categories[n:])
        line_starts = [0]
        for index, char in enumerate(sample["composed_completion"]):
            if char == "\n":
                line_starts.append(index + 1)
        label = {i: CATEGORY_IDS[k] for k, v in sample["completion_lines"].items() for i in v}
        for token, (start, end) in enumerate(completion_enc.offsets[:m]):
            for number, line_start in enumerate(line_starts[:-1]):
                line_end = line_starts[number + 1]  # the line's chars and its newline
                if line_start <= start and end <= line_end and start < end:
                    assert categories[n - m + token] == label.get(number, NO_CATEGORY)
