"""Line metrics and their per-category micro/macro averages, against values computed by hand."""

import pytest

from lca_core.evaluation.metrics import LineScore, aggregate, score_line


def test_stripping_matters_for_exact_match_but_not_edit_similarity():
    score = score_line("  x = 1 ", "x = 1", file=0, line=3, category="inproject")
    assert score.exact_match == 0.0
    assert score.exact_match_strip == 100.0
    # InDel distance 3 (three spaces) over 8 + 5 characters: 100 * (1 - 3/13)
    assert score.edit_similarity == pytest.approx(100 * (1 - 3 / 13))


def test_identical_lines_score_full_marks():
    score = score_line("    return x", "    return x", file=0, line=1, category="infile")
    assert (score.exact_match, score.exact_match_strip, score.edit_similarity) == (100.0, 100.0, 100.0)


def test_edit_similarity_does_not_leak_between_categories():
    # The reference never reset its running ES sum per category: infile would have inherited inproject's 100.
    scores = [
        score_line("abc", "abc", file=0, line=1, category="inproject"),
        score_line("abcd", "wxyz", file=0, line=2, category="infile"),
        score_line("abcd", "wxyz", file=1, line=2, category="infile"),
    ]
    result = aggregate(scores)
    assert result["inproject"]["edit_similarity"] == {"micro": 100.0, "macro": 100.0}
    assert result["infile"]["edit_similarity"] == {"micro": 0.0, "macro": 0.0}
    assert (result["infile"]["lines"], result["infile"]["files"]) == (2, 2)


def test_micro_averages_lines_and_macro_averages_files():
    # file 0: three inproject lines, two right; file 1: one inproject line, wrong.
    scores = [
        LineScore(file=0, line=1, category="inproject", exact_match=100.0),
        LineScore(file=0, line=2, category="inproject", exact_match=100.0),
        LineScore(file=0, line=3, category="inproject", exact_match=0.0),
        LineScore(file=1, line=1, category="inproject", exact_match=0.0),
    ]
    em = aggregate(scores)["inproject"]["exact_match"]
    assert em["micro"] == pytest.approx(50.0)  # 2 of 4 lines
    assert em["macro"] == pytest.approx((200 / 3 + 0) / 2)  # mean of 66.7 and 0
    # teacher forcing has no stripped EM or ES: those metrics are left out, not reported as zero
    assert "edit_similarity" not in aggregate(scores)["inproject"]
