"""Line metrics and their per-category micro/macro averages, against values computed by hand."""

import pytest

from lca_core.evaluation.metrics import LineScore, aggregate, paired_difference, score_line
from lca_core.evaluation.report import comparison_table, comparisons


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


def _forced(file: int, line: int, ce: float) -> LineScore:
    return LineScore(file=file, line=line, category="inproject", exact_match=0.0, cross_entropy=ce,
                     top1_accuracy=50.0, top5_accuracy=90.0)


def test_each_file_mean_is_kept_for_comparisons():
    scores = [_forced(0, 1, 1.0), _forced(0, 2, 2.0), _forced(3, 1, 4.0)]
    by_file = aggregate(scores)["inproject"]["by_file"]
    assert by_file == {0: {"exact_match": 0.0, "cross_entropy": 1.5, "top1_accuracy": 50.0, "top5_accuracy": 90.0},
                       3: {"exact_match": 0.0, "cross_entropy": 4.0, "top1_accuracy": 50.0, "top5_accuracy": 90.0}}


def test_paired_difference_counts_files_where_a_composer_helps():
    reference = aggregate([_forced(0, 1, 2.0), _forced(1, 1, 3.0), _forced(2, 1, 1.0)])["inproject"]
    # file 0 lower by 0.5, file 1 lower by 1.0, file 2 higher by 0.3; file 5 is not in the reference
    other = aggregate([_forced(0, 1, 1.5), _forced(1, 1, 2.0), _forced(2, 1, 1.3), _forced(5, 1, 9.0)])["inproject"]
    diff = paired_difference(reference, other, "cross_entropy")
    assert diff["files"] == 3 and (diff["better"], diff["worse"]) == (2, 1)  # lower cross-entropy is better
    assert diff["mean"] == pytest.approx((-0.5 - 1.0 + 0.3) / 3)
    assert diff["sd"] == pytest.approx(((0.1 ** 2 + 0.6 ** 2 + 0.7 ** 2) / 2) ** 0.5)
    # read back from JSON the file keys are strings: the same answer
    as_json = {"by_file": {str(k): v for k, v in other["by_file"].items()}}
    assert paired_difference(reference, as_json, "cross_entropy") == diff
    assert paired_difference(reference, other, "edit_similarity") is None


def test_comparisons_take_each_models_first_composer_as_the_reference():
    def result(model, composer, ces):
        return {"model": model, "composer": composer,
                "categories": aggregate([_forced(i, 1, ce) for i, ce in enumerate(ces)])}

    rows = comparisons([result("base", "file_level", [2.0, 2.0]), result("base", "path_distance", [1.0, 1.5]),
                        result("tuned", "path_distance", [1.0, 1.0]), result("tuned", "lines_iou", [1.2, 0.8])])
    assert [(r["model"], r["composer"], r["reference"]) for r in rows] == [
        ("base", "path_distance", "file_level"), ("tuned", "lines_iou", "path_distance")]
    assert rows[0]["mean"] == pytest.approx(-0.75) and rows[0]["better"] == 2
    text = comparison_table(rows)
    assert "base  path_distance vs file_level  inproject: CE -0.750 (sd 0.354), better (lower) in 2 of 2 files" in text
    assert comparison_table([]) == ""


def test_a_chart_without_scored_lines_says_so_without_warnings(tmp_path):
    import warnings

    from lca_core.evaluation.report import bar_chart

    results = [{"model": "base", "composer": "file_level", "categories": {}, "context_tokens": {"mean": 0}}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "No artists with labels found" leaked to users before
        bar_chart(tmp_path / "eval.png", results, title="empty")
    assert (tmp_path / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
