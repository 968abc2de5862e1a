"""Where the preprocessors differ from the original on purpose (docs/preprocessors.md), on small inputs."""

from __future__ import annotations

from tests.preprocessing.helpers import composed_sample, make_preprocessor

LONG_COMPLETION = "# b.py\n" + "".join(f"line_{i} = {i}\n" for i in range(200))


def lengths(layout):
    return {span.name: len(span.ids) for span in layout.spans}


def test_lm_keeps_v1s_completion_budget_when_the_context_is_short(tokenizer):
    # V1 (and `lm`): the completion keeps L + 1 − ctx − |BOS + prompt| tokens whatever the context's
    # length. The newest original's LMPreprocessor would give a short context's spare room to it.
    L, ctx = 128, 64
    lm = make_preprocessor("lm", tokenizer, max_seq_len=L, context_tokens=ctx, padding=True)
    newest_lengths = make_preprocessor("completion_loss", tokenizer, max_seq_len=L, context_tokens=ctx)
    sample = composed_sample(context="x = 1\n", completion=LONG_COMPLETION)
    got, newest = lengths(lm.layouts([sample])[0]), lengths(newest_lengths.layouts([sample])[0])
    assert got["completion"] == L + 1 - ctx - got["bos"] - got["prompt"]
    assert newest["completion"] == L - newest["prompt"] - newest["context"] > got["completion"]


def test_file_level_never_lets_the_ignored_context_shorten_the_completion(tokenizer):
    # The newest original's FileLevelPreprocessor, given context_tokens = ctx > 0 and a context of at
    # least ctx tokens, caps the completion at L − ctx − p; `file_level` takes m = min(|m|, L − p).
    L = 96
    pre = make_preprocessor("file_level", tokenizer, max_seq_len=L)
    long_context = "".join(f"value_{i} = {i}\n" for i in range(300))
    with_context = lengths(pre.layouts([composed_sample(context=long_context, completion=LONG_COMPLETION)])[0])
    assert with_context["completion"] == L - with_context["prompt"]
    assert with_context == lengths(pre.layouts([composed_sample(context="", completion=LONG_COMPLETION)])[0])


def original_line_walk(offsets, text):
    """The original's category walk: a line step happens when a token starts past the current line's
    newline, at most one step per token."""
    newlines = [i for i, ch in enumerate(text) if ch == "\n"] + [float("inf")]
    line, lines = 0, []
    for start, _ in offsets:
        if start > newlines[line]:
            line += 1
        lines.append(line)
    return lines


def test_the_originals_line_lag_after_a_multi_newline_token_is_transient(tokenizer):
    text = "import a\n\n\n\nprint(a.x, a.y, a.z)\nvalue = compute(1, 2)\n"
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    true_lines = [text.count("\n", 0, start) for start, _ in offsets]
    walked = original_line_walk(offsets, text)
    lagging = [i for i, (w, t) in enumerate(zip(walked, true_lines)) if w != t]
    assert lagging  # "\n\n" is one token here, so the walk falls behind ...
    print_line = text.split("\n").index("print(a.x, a.y, a.z)")
    assert max(true_lines[i] for i in lagging) == print_line  # ... catches up within the next code line
    assert all(w == t for w, t in zip(walked, true_lines) if t > print_line)  # and stays in step after it
