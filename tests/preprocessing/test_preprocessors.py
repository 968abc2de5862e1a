"""The built-in preprocessors by example: what each keeps, what its masks cover, how it fails."""

from __future__ import annotations

import pytest

from lca_core.api.errors import ConfigError, RunError
from lca_core.composing.pretruncation import SegmentTokenizer
from lca_core.config.loader import config_from_dict
from tests.preprocessing.helpers import composed_sample, make_preprocessor

LONG_CONTEXT = "".join(f"# file{i}.py\nvalue_{i} = compute({i}, 'x')\n\n" for i in range(200))


def test_lm_fills_the_window_and_puts_the_loss_on_its_last_tokens(tokenizer):
    pre = make_preprocessor("lm", tokenizer, max_seq_len=128, context_tokens=0.5, loss_ratio=0.25)
    out = pre([composed_sample(context=LONG_CONTEXT)])
    assert set(out) == {"input_ids", "target_ids", "loss_mask", "completion_mask", "category_ids"}
    assert out["input_ids"].shape == (1, 128)
    assert out["loss_mask"][0].nonzero().flatten().tolist() == list(range(96, 128))
    assert out["input_ids"][0, 0].item() == tokenizer.bos_token_id
    assert out["target_ids"][0, :-1].equal(out["input_ids"][0, 1:])
    # the context's kept part is its end, right before the completion
    decoded = tokenizer.decode(out["input_ids"][0])
    assert "value_199 = compute(199, 'x')\n\n# b.py\nimport a" in decoded
    assert "value_0 " not in decoded


def test_lm_without_padding_refuses_a_short_sample_and_says_what_to_do(tokenizer):
    pre = make_preprocessor("lm", tokenizer, max_seq_len=512)
    with pytest.raises(RunError, match=r"fewer than max_seq_len \+ 1 = 513.*padding = true"):
        pre([composed_sample()])


def test_completion_loss_pads_to_the_longest_and_masks_only_the_completion_tail(tokenizer):
    pre = make_preprocessor("completion_loss", tokenizer, max_seq_len=256, context_tokens=64, loss_ratio=0.5)
    short, long = composed_sample(context="x = 1\n"), composed_sample(context=LONG_CONTEXT)
    out = pre([short, long])
    assert out["input_ids"].shape == (2, 256)
    completion = tokenizer.backend_tokenizer.encode(short["composed_completion"], add_special_tokens=False).ids
    m = len(completion)
    n_short = int(out["attention_mask"][0].sum()) - 1  # valid targets of the padded row
    assert out["completion_mask"][0].nonzero().flatten().tolist() == list(range(n_short - m, n_short))
    assert out["loss_mask"][0].sum().item() == -(-m // 2)
    assert out["target_ids"][0, n_short:].eq(tokenizer.pad_token_id).all()
    assert out["attention_mask"][1].all()


def test_completion_loss_without_padding_is_strict(tokenizer):
    pre = make_preprocessor("completion_loss", tokenizer, max_seq_len=256, padding=False)
    with pytest.raises(RunError, match="padding is false"):
        pre([composed_sample()])


def test_sep_token_is_added_when_missing_and_closes_the_context(tmp_path, tokenizer_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))  # a private copy: SEP is added to it
    assert tokenizer.sep_token_id is None
    plain = make_preprocessor("completion_loss", tokenizer, max_seq_len=64, context_tokens=32)
    with_sep = make_preprocessor("completion_loss", tokenizer, max_seq_len=64, context_tokens=32, use_sep_token=True)
    assert tokenizer.sep_token == "<|SEP|>"
    sample = composed_sample(context=LONG_CONTEXT)
    a, b = plain.layouts([sample])[0], with_sep.layouts([sample])[0]
    assert [s.name for s in b.spans] == ["bos", "prompt", "context", "sep", "completion"]
    assert b.span("sep").ids == [tokenizer.sep_token_id]
    assert b.span("context").ids == a.span("context").ids[1:]  # same length: SEP takes the first token's place
    assert len(a.ids) == len(b.ids) == 65


def test_file_level_ignores_the_context(tokenizer):
    pre = make_preprocessor("file_level", tokenizer, max_seq_len=64)
    out = pre([composed_sample(context=LONG_CONTEXT)])
    assert "value_" not in tokenizer.decode(out["input_ids"][0])
    assert [s.name for s in pre.layouts([composed_sample()])[0].spans] == ["bos", "prompt", "completion"]


def test_categories_follow_lines_even_after_multi_newline_tokens(tokenizer):
    completion = "# b.py\nimport a\n\n\n\nprint(a.x)\nvalue = 1\n"
    lines = {"non_informative": [1], "inproject": [5], "random": [6]}
    pre = make_preprocessor("file_level", tokenizer, max_seq_len=64)
    out = pre([composed_sample(completion=completion, lines=lines)])
    mask = out["completion_mask"][0]
    pairs = [(tokenizer.decode([t]), c) for t, c in zip(out["target_ids"][0][mask].tolist(), out["category_ids"][0][mask].tolist())]
    by_category = {}
    for piece, category in pairs:
        by_category.setdefault(category, "")
        by_category[category] += piece
    assert by_category[3].strip() == "print(a.x)"
    assert by_category[5].strip() == "value = 1"
    assert "import a" in by_category[4]
    assert out["category_ids"][0][~mask].eq(-1).all()


@pytest.mark.parametrize(
    "table,path",
    [
        ({"name": "lm", "context_tokens": 1.5}, "preprocessor.context_tokens"),
        ({"name": "lm", "max_seq_len": 64, "context_tokens": 100}, "preprocessor.context_tokens"),
        ({"name": "completion_loss", "loss_ratio": 2.0}, "preprocessor.loss_ratio"),
        ({"name": "file_level", "context_tokens": 3}, "preprocessor.context_tokens"),
        ({"name": "lm", "num_chars_per_token": -1}, "preprocessor.num_chars_per_token"),
    ],
)
def test_bad_parameters_are_configuration_errors_with_their_key(plugin_manager, table, path):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"model": {"name_or_path": "m"}, "data": {"path": "d"}, "preprocessor": table})
    assert [p.path for p in info.value.problems] == [path]


def test_a_short_cut_grows_the_estimate_which_then_persists(tokenizer):
    segments = SegmentTokenizer(tokenizer, chars_per_token=0.5)
    text = LONG_CONTEXT
    piece = segments.tails([text], [200])[0]
    full = tokenizer.backend_tokenizer.encode(text, add_special_tokens=False).ids
    assert piece.ids == full[-200:] and text[piece.start:].startswith(tokenizer.decode(piece.ids[:3]))
    assert segments.retries >= 1 and segments.chars_per_token > 0.5
    grown, retries = segments.chars_per_token, segments.retries
    segments.tails([text], [200])
    assert segments.retries == retries and segments.chars_per_token <= grown


def test_preprocessor_needs_a_tokenizer(plugin_manager):
    from lca_core.api.components import Runtime
    from lca_core.config.schema import ComponentConfig

    with pytest.raises(RunError, match="needs a tokenizer"):
        ComponentConfig(kind="preprocessor", name="lm", params={}).build(Runtime())


def test_real_composer_and_preprocessor_together(tokenizer, datapoint):
    from lca_core.api.components import Runtime
    from lca_core.config.schema import ComponentConfig

    composer = ComponentConfig(kind="composer", name="path_distance", params={}).build(Runtime(tokenizer=tokenizer))
    pre = make_preprocessor("completion_loss", tokenizer, max_seq_len=256, context_tokens=32)
    out = pre(composer.compose_batch({key: [value] for key, value in datapoint.items()}))
    mask = out["completion_mask"][0]
    completion_text = tokenizer.decode(out["target_ids"][0][mask])
    assert completion_text.startswith("# pkg/main.py\nimport os")
    # line 5 of the file (inproject) is line 6 of the composed completion, after the path comment
    inproject = tokenizer.decode(out["target_ids"][0][out["category_ids"][0] == 3])
    assert inproject.strip() == "value = helper(1)"
