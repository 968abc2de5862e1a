"""Teacher-forced line exact match on hand-built logits: line splitting, categories, the newline second chance."""

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
