"""ComposerBase framing: prompts, the path-comment template and its line shift, random recompute, batches."""

from __future__ import annotations

import copy

import pytest

from lca_core.api.components import build_params
from lca_core.composing.composers import ComposerBase, GrainedComposer, RankingComposer, recalculate_random
from lca_plugins.composers.naive import NaiveComposer
from tests.composers.helpers import datapoint


def test_compose_frames_context_and_completion_like_the_original():
    dp = datapoint(snapshot={"x.py": "X = 1\n"})
    out = NaiveComposer().compose(dp)
    assert out["pre_context_prompt"] == "# owner__proj\n"
    assert out["composed_context"] == "# x.py\nX = 1\n" + "\n\n"
    assert out["composed_completion"] == "# a/b/main.py\n" + dp["completion_file"]["content"]
    # The default template puts the content one line down: every index shifts by one.
    assert out["completion_lines"]["inproject"] == [7, 8]
    assert out["completion_lines"]["non_informative"] == [1, 2, 3]


def test_template_offset_follows_the_line_holding_content_and_newline_is_appended():
    dp = datapoint(content="a = 1\nb = 2", lines={"infile": [1]})
    composer = NaiveComposer(path_comment_template="<file>\n{filename}\n---\n{content}",
                             recalculate_random_category=False)
    out = composer.compose(dp)
    assert out["composed_completion"] == "<file>\na/b/main.py\n---\na = 1\nb = 2\n"
    assert out["completion_lines"]["infile"] == [4]
    assert out["composed_completion"].split("\n")[4] == "b = 2"


def test_pre_context_prompt_takes_positional_or_named_repo():
    dp = datapoint()
    assert NaiveComposer(pre_context_prompt="<repo>{repo}</repo>\n").compose(dp)["pre_context_prompt"] \
        == "<repo>owner__proj</repo>\n"


def test_random_is_every_line_in_no_other_category_when_recalculated():
    lines = {"infile": [0], "inproject": [2], "common": [], "commited": [], "non_informative": [], "random": [1]}
    assert recalculate_random(lines, "a\nb\nc\nd")["random"] == [1, 3]
    dp = datapoint(content="a\nb\nc\nd", lines=lines)
    kept = NaiveComposer(recalculate_random_category=False).compose(dp)["completion_lines"]["random"]
    recomputed = NaiveComposer().compose(dp)["completion_lines"]["random"]
    assert kept == [2] and recomputed == [2, 4]


def test_compose_leaves_the_datapoint_untouched_and_batches_by_columns():
    dps = [datapoint(), datapoint(repo="other__repo")]
    before = copy.deepcopy(dps)
    composer = NaiveComposer()
    batch = {key: [dp[key] for dp in dps] for key in dps[0]}
    assert composer.compose_batch(batch) == [composer.compose(dp) for dp in dps]
    assert dps == before


@pytest.mark.parametrize(
    ("params", "path", "fragment"),
    [
        ({"path_comment_template": "# {filename}"}, "composer.path_comment_template", "exactly once"),
        ({"path_comment_template": "{content}{content}"}, "composer.path_comment_template", "exactly once"),
        ({"path_comment_template": "{path}\n{content}"}, "composer.path_comment_template", "KeyError"),
        ({"pre_context_prompt": "# {name}\n"}, "composer.pre_context_prompt", "not a valid template"),
        ({"chunks_sep": 3}, "composer.chunks_sep", "expected a string"),
    ],
)
def test_bad_parameters_are_reported_at_their_dotted_path(params, path, fragment):
    obj, problems = build_params(NaiveComposer, params, "composer")
    assert obj is None
    assert [p.path for p in problems] == [path]
    assert fragment in problems[0].message


def test_ranking_composer_sorts_stably_ascending_best_last():
    class ByFirstLetter(RankingComposer):
        def ranking_function(self, chunk, datapoint):
            return chunk.filename[0]

    dp = datapoint(snapshot={"b1.py": "", "a1.py": "", "b2.py": "", "a2.py": ""})
    context = ByFirstLetter(path_comment_template="{filename}{content}", chunks_sep=",").compose_context(dp)
    assert context == "a1.py,a2.py,b1.py,b2.py"


def test_bases_are_abstract_where_the_original_was():
    assert issubclass(RankingComposer, GrainedComposer) and issubclass(GrainedComposer, ComposerBase)
    with pytest.raises(NotImplementedError):
        ComposerBase().compose(datapoint())
