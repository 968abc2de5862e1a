"""A composer's result is typed (`Composed`), reads as the original's dict, and says where each chunk sits."""

from __future__ import annotations

import pytest

from lca_core.cli.compose_view import context_chunks
from lca_core.composing.composers import COMPOSED_KEYS, Composed
from lca_plugins.composers.chained import ChainedComposer
from lca_plugins.composers.path_distance import PathDistanceComposer
from tests.composers.helpers import datapoint


def test_composed_reads_as_the_originals_dict():
    composed = PathDistanceComposer().compose(datapoint())
    assert isinstance(composed, Composed)
    assert list(composed) == list(COMPOSED_KEYS) and len(composed) == 4
    assert composed["composed_context"] is composed.composed_context
    assert composed == composed.to_dict() and dict(composed) == composed.to_dict()
    with pytest.raises(KeyError):
        composed["chunks"]  # the pieces are an attribute, not one of the original's keys


@pytest.mark.parametrize("make", [
    PathDistanceComposer,
    ChainedComposer,  # the standard chain: its harvester reports where each chunk landed
    lambda: ChainedComposer(blocks=[{"name": "file_grained_chunker"}, {"name": "negative_path_distance_ranker"},
                                    {"name": "lexicographic_sorter"}, {"name": "joining_harvester"}]),
])
def test_each_chunk_is_where_the_composer_put_it(make):
    composer = make()
    dp = datapoint()
    composed = composer.compose(dp)
    pieces = composed.chunks
    assert pieces and [p.start for p in pieces] == sorted(p.start for p in pieces)
    contents = dict(zip(dp["repo_snapshot"]["filename"], dp["repo_snapshot"]["content"]))
    for piece in pieces:
        text = composed.composed_context[piece.start:piece.end]
        assert contents[piece.name].rstrip("\n") in text  # the file's own text, rendered or not
    assert composed.composed_context[pieces[-1].end:] == composer.post_context_prompt


def test_a_postprocessor_rewrites_the_text_so_no_pieces_are_claimed():
    composer = ChainedComposer(blocks=[{"name": "file_grained_chunker"}, {"name": "path_comment_harvester"},
                                       {"name": "line_strip_postprocessor"}])
    assert composer.compose(datapoint()).chunks == ()


def test_compose_shows_the_reported_chunks_and_the_post_prompt_as_rows():
    composer = PathDistanceComposer()
    composed = composer.compose(datapoint())
    rows = context_chunks(composed.composed_context, composed.chunks, composer.post_context_prompt)
    assert [row.name for row in rows] == [p.name for p in composed.chunks] + ["(post-context prompt)"]
    assert rows[0].start == 0 and rows[-1].end == len(composed.composed_context)
    assert all(a.end == b.start for a, b in zip(rows, rows[1:]))  # separators count for the chunk before
    whole = context_chunks("just text\n\n", (), "\n\n")
    assert [(r.name, r.start, r.end) for r in whole] == [("(context)", 0, 9), ("(post-context prompt)", 9, 11)]
