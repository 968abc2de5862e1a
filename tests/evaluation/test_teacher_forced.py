"""Teacher-forced line exact match on hand-built logits: line splitting, categories, the newline second chance."""

import pytest
import torch

from lca_core.evaluation.teacher_forced import line_outcomes, teacher_forced_exact_match

NEWLINE = 2  # token 2 is the only token containing a newline in this 5-token vocabulary
NEWLINE_MASK = torch.tensor([False, False, True, False, False])


def logits_for(predictions, second=None):
    """Logits whose argmax is ``predictions[t]`` (and runner-up ``second[t]`` where given)."""
    out = torch.zeros(1, len(predictions), 5)
    for t, token in enumerate(predictions):
        out[0, t, token] = 10.0
        if second is not None and second[t] is not None:
            out[0, t, second[t]] = 5.0
    return out


def test_lines_split_after_newline_tokens_and_take_their_category():
    targets = torch.tensor([[3, 4, NEWLINE, 1, 3, NEWLINE, 4, NEWLINE]])
    categories = torch.tensor([[3, 3, 3, 2, 2, 2, -1, -1]])  # inproject line, infile line, unlabelled line
    logits = logits_for([3, 4, NEWLINE, 1, 4, NEWLINE, 4, NEWLINE])  # second line has one wrong token
    outcomes = line_outcomes(logits, targets, categories, NEWLINE_MASK, min_tokens=1)
    assert [(o.line, o.category, o.matched) for o in outcomes] == [(0, 3, True), (1, 2, False)]
    result = teacher_forced_exact_match(logits, targets, categories, NEWLINE_MASK, min_tokens=1)
    assert result == {"infile": {"exact_match": 0.0, "lines": 1}, "inproject": {"exact_match": 100.0, "lines": 1}}


def test_an_early_newline_gets_a_second_chance_only_within_min_tokens():
    targets = torch.tensor([[3, 4, 1, NEWLINE]])
    categories = torch.tensor([[3, 3, 3, 3]])
    # position 1 predicts a newline first, the right token second
    logits = logits_for([3, NEWLINE, 1, NEWLINE], second=[None, 4, None, None])
    strict = line_outcomes(logits, targets, categories, NEWLINE_MASK, min_tokens=1)
    lenient = line_outcomes(logits, targets, categories, NEWLINE_MASK, min_tokens=3)
    assert [o.matched for o in strict] == [False]
    assert [o.matched for o in lenient] == [True]
    # beyond the first min_tokens - 1 positions a predicted newline is a plain mistake
    late = line_outcomes(logits_for([3, 4, NEWLINE, NEWLINE], second=[None, None, 1, None]),
                         targets, categories, NEWLINE_MASK, min_tokens=3)
    assert [o.matched for o in late] == [False]


def test_token_statistics_give_each_line_its_cross_entropy_and_top_k_accuracy():
    targets = torch.tensor([[3, 4, NEWLINE, 1, NEWLINE]])
    categories = torch.tensor([[3, 3, 3, 2, 2]])
    logits = torch.zeros(1, 5, 5)
    logits[0, 0, 3] = 10.0  # right first choice
    logits[0, 1, 1] = 10.0  # target 4 is second choice
    logits[0, 1, 4] = 5.0
    logits[0, 2, NEWLINE] = 10.0
    logits[0, 3] = torch.tensor([5.0, 0.0, 4.0, 3.0, 2.0])  # target 1 is the last choice of five
    logits[0, 4, NEWLINE] = 10.0
    first, second = line_outcomes(logits, targets, categories, NEWLINE_MASK, min_tokens=1, token_stats=True)
    expected = torch.nn.functional.cross_entropy(logits[0], targets[0], reduction="none")
    assert first.cross_entropy == pytest.approx(expected[:3].mean().item(), rel=1e-5)
    assert second.cross_entropy == pytest.approx(expected[3:].mean().item(), rel=1e-5)
    assert (first.top1, first.top5) == (pytest.approx(2 / 3), 1.0)
    assert (second.top1, second.top5) == (0.5, 1.0)  # rank 4 (0-based) is still within the top five
    assert not first.matched and not second.matched
    plain = line_outcomes(logits, targets, categories, NEWLINE_MASK, min_tokens=1)
    assert plain[0].cross_entropy is None  # statistics only when asked (training validation skips them)


def test_token_statistics_in_chunks_equal_one_pass(monkeypatch):
    from lca_core.evaluation import teacher_forced

    torch.manual_seed(0)
    logits, targets = torch.randn(2, 9, 5), torch.randint(0, 5, (2, 9))
    whole = teacher_forced.token_statistics(logits, targets)
    monkeypatch.setattr(teacher_forced, "STATS_CHUNK", 4)
    chunked = teacher_forced.token_statistics(logits, targets)
    assert torch.allclose(whole[0], chunked[0]) and torch.equal(whole[1], chunked[1])


def test_the_file_is_cut_after_its_last_scored_line_leaving_the_room_to_the_context(tokenizer):
    from lca_core.evaluation.teacher_forced import encode_file

    context = "".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(40))
    completion = "import os\nvalue = 1\nother = 2\n" + "".join(f"tail_{i} = {i}\n" for i in range(30))
    whole = encode_file(tokenizer, context, completion, {1: "inproject", 32: "infile"}, 200)
    [cut] = encode_file(tokenizer, context, completion, {1: "inproject"}, 200)
    # up to line 32 the file is longer than the window: two windows (line 1, line 32), no room for context
    assert len(whole) == 2 and all(w.context_tokens == 0 and len(w.inputs) == 200 for w in whole)
    assert cut.context_tokens > 0 and len(cut.inputs) == 200  # the unscored tail gave its room to the context
    # the tokens kept are those of the whole file, up to the newline that ends line 1
    ids = tokenizer(completion, add_special_tokens=False).input_ids
    k = next(k for k in range(len(ids), 0, -1) if cut.targets[-k:] == ids[:k])
    assert tokenizer.decode(ids[:k]).startswith("import os\nvalue = 1\n") and k < len(ids) // 2
    assert [c >= 0 for c in cut.categories[-k:]].count(True) >= 3  # line 1's tokens are scored


LONG_FILE = "".join(f"tail_{i} = {i} + {i}\n" for i in range(60))
SCORED = {2: "inproject", 30: "infile", 58: "infile"}


def test_a_file_longer_than_the_window_is_read_in_overlapping_windows(tokenizer):
    """Every scored line is scored once, whole, in a window of at most max_seq_len tokens (it used to be
    dropped when it lay past the window)."""
    from lca_core.data.schema import CATEGORY_IDS
    from lca_core.evaluation.teacher_forced import encode_file

    windows = encode_file(tokenizer, "def helper(x):\n    return x\n", LONG_FILE, SCORED, 64)
    assert len(windows) >= 2 and all(len(w.inputs) <= 64 and w.context_tokens == 0 for w in windows)
    scored = []
    for w in windows:
        runs, current = [], []
        for target, category in zip(w.targets, w.categories):
            if category >= 0:
                current.append((target, category))
            elif current:
                runs.append(current)
                current = []
        runs += [current] if current else []
        scored += [(tokenizer.decode([t for t, _ in run]), run[0][1]) for run in runs]
    assert scored == [(f"tail_{n} = {n} + {n}\n", CATEGORY_IDS[c]) for n, c in SCORED.items()]


def test_teacher_forced_scoring_of_a_long_file_scores_every_line(tiny_model, tokenizer):
    from lca_core.evaluation.runner import Settings, _teacher_forced_scorer

    score = _teacher_forced_scorer(tiny_model, tokenizer, Settings(mode="teacher-forced", max_seq_len=64))
    result = score(3, {"composed_context": "def helper(x):\n    return x\n", "composed_completion": LONG_FILE},
                   sorted(SCORED.items()))
    assert [s.category for s in result.scores] == list(SCORED.values())
    assert len({s.line for s in result.scores}) == 3 and all(s.cross_entropy > 0 for s in result.scores)
