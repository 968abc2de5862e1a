"""Every built-in composer on a hand-made snapshot whose right order is known, and the contract for all."""

from __future__ import annotations

import pytest

from lca_core.api.plugins import get_plugin_manager
from lca_core.composing.composers import GrainedComposer
from lca_core.composing.testing import check_composer_contract
from lca_plugins.composers.bm25 import BM25Composer
from lca_plugins.composers.declarations_only import DeclarationsOnlyComposer
from lca_plugins.composers.features import path_distance
from lca_plugins.composers.file_level import FileLevelComposer
from lca_plugins.composers.half_memory import HalfMemoryComposer
from lca_plugins.composers.path_distance import PathDistanceComposer
from tests.composers.helpers import MARKED, SNAPSHOT, context_files, datapoint
from tests.factories import make_datapoint

# Expected orders, farthest/worst first, best last (path distances are in helpers.SNAPSHOT).
EXPECTED = {
    "path_distance": ["z/deep/far/q.py", "README.md", "a/x/y.py", "a/b/c/child.py", "a/other.py", "a/b/sib.py"],
    "naive": ["a/b/sib.py", "z/deep/far/q.py", "a/b/c/child.py", "README.md", "a/other.py", "a/x/y.py"],
    "alphabetical": ["README.md", "a/b/c/child.py", "a/b/sib.py", "a/other.py", "a/x/y.py", "z/deep/far/q.py"],
    # lengths 67, 42, 33, 32, 30, 6
    "file_length": ["a/x/y.py", "a/other.py", "README.md", "a/b/sib.py", "a/b/c/child.py", "z/deep/far/q.py"],
    "python_files": ["z/deep/far/q.py", "a/x/y.py", "a/b/c/child.py", "a/other.py", "a/b/sib.py"],
    # imported: a.b.sib (absolute) and a.b.c.child (relative `.c`), nearest last
    "imports_first": ["z/deep/far/q.py", "README.md", "a/x/y.py", "a/other.py", "a/b/c/child.py", "a/b/sib.py"],
    # only a/other.py shares a line ("import os") with the prefix; the rest tie and fall back to path distance
    "lines_iou": ["z/deep/far/q.py", "a/x/y.py", "a/b/c/child.py", "a/b/sib.py", "a/other.py"],
    # a/other.py matches "os" and "sib", a/x/y.py only "a"; zero scores fall back to path distance
    "bm25": ["z/deep/far/q.py", "a/b/c/child.py", "a/b/sib.py", "a/x/y.py", "a/other.py"],
    "declarations_only": ["a/x/y.py", "a/b/c/child.py", "a/b/sib.py"],
    "half_memory": ["z/deep/far/q.py", "README.md", "a/x/y.py", "a/b/c/child.py", "a/other.py", "a/b/sib.py"],
    "chained": ["z/deep/far/q.py", "README.md", "a/x/y.py", "a/b/c/child.py", "a/other.py", "a/b/sib.py"],
    "file_level": [],
}

REGISTRY = get_plugin_manager().registry("composer")
BUILTINS = [e.name for e in REGISTRY.entries() if e.origin.distribution == "lca-pipeline"]


def test_every_builtin_composer_has_a_known_order_test():
    assert sorted(BUILTINS) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_orders_the_hand_made_snapshot(name):
    composer = REGISTRY.load(name)(path_comment_template=MARKED)
    assert context_files(composer, datapoint()) == EXPECTED[name]


def test_path_distance_counts_directory_hops():
    assert path_distance("a/b/x.py", "a/b/y.py") == 0
    assert path_distance("a/b/c/x.py", "a/b/y.py") == 1
    assert path_distance("./a/../a/b/x.py", "a/b/y.py") == 0
    for path, (_, hops) in SNAPSHOT.items():
        assert path_distance(path, "a/b/main.py") == hops == path_distance("a/b/main.py", path)


def test_file_level_has_no_context_at_all():
    out = FileLevelComposer().compose(datapoint())
    assert out["composed_context"] == ""
    assert out["composed_completion"].startswith("# a/b/main.py\n")


def test_declarations_only_keeps_headers_to_their_colon():
    context = DeclarationsOnlyComposer().compose_context(datapoint())
    assert "# a/x/y.py\nclass Y: ...\n    def method(self, a: int = 1) -> int: ..." in context
    assert "return" not in context and "README" not in context


def test_half_memory_is_seeded_per_datapoint_and_drops_about_half():
    big = "\n".join(f"line {i}" for i in range(2000))
    dp = datapoint(snapshot={"a/b/big.py": big})
    composer = HalfMemoryComposer(path_comment_template="{content}")
    kept = composer.compose_context(dp).split("\n")
    assert 800 < len(kept) < 1200
    assert kept == [line for line in big.split("\n") if line in set(kept)]  # order kept, nothing invented
    assert composer.compose_context(dp) == HalfMemoryComposer(path_comment_template="{content}").compose_context(dp)
    assert composer.compose_context(dp) != HalfMemoryComposer(path_comment_template="{content}",
                                                              random_seed=1).compose_context(dp)
    assert HalfMemoryComposer(dropout=0.0).compose(dp) == PathDistanceComposer().compose(dp)
    assert HalfMemoryComposer(dropout=1.0, path_comment_template="{content}").compose_context(dp) == ""


def test_bm25_puts_the_window_matching_the_code_before_the_completion_point_last():
    noise = "\n".join(f"unrelated_{i} = compute_{i}()" for i in range(20))
    hit = "def tokenize_request(payload):\n    return parse_payload(payload)"
    dp = datapoint(
        content="from server import tokenize_request\n\nresult = tokenize_request(data)\n",
        lines={"inproject": [2]},
        snapshot={"server.py": noise + "\n" + hit, "far/away/other.py": noise},
    )
    context = BM25Composer(chunk_lines=20, path_comment_template="{content}").compose_context(dp)
    assert context.endswith(hit)
    assert context.count("unrelated_0 =") == 2  # every window is still in the context


def test_prefix_composers_never_rank_by_lines_after_the_completion_point():
    # The only line shared with a.py is below the first scored line: it must not pull a.py nearer.
    dp = datapoint(content="import os\nx = secret_line_below()\n", lines={"inproject": [1]},
                   snapshot={"a/b/a.py": "x = secret_line_below()\n", "z/z.py": "import os\n"})
    for name in ("lines_iou", "bm25"):
        composer = REGISTRY.load(name)(path_comment_template=MARKED)
        assert context_files(composer, dp)[-1] == "z/z.py", name


CONTRACT_DATAPOINTS = [
    datapoint(),
    make_datapoint(),
    datapoint(snapshot={}),
    datapoint(snapshot={"old.py": "print 'python 2'\nclass A:\n    def f(self): pass\n", "a/b/main.py": "stale"}),
]

EVERY_STAGE_CHAIN = [
    {"name": "empty_file_filter"},
    {"name": "exclusive_file_extension_filter", "blacklist": [".json"]},
    {"name": "empty_lines_removal_preprocessor"},
    {"name": "code_segment_grained_chunker"},
    {"name": "function_call_ranker", "is_relative": True},
    {"name": "negative_path_distance_ranker"},
    {"name": "random_ranker"},
    {"name": "lexicographic_sorter"},
    {"name": "path_comment_harvester"},
    {"name": "line_strip_postprocessor"},
    {"name": "partial_memory_postprocessor", "dropout": 0.3},
]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_keeps_the_composer_contract(name):
    check_composer_contract(REGISTRY.load(name), CONTRACT_DATAPOINTS)


def test_a_chain_through_every_stage_keeps_the_contract():
    check_composer_contract(REGISTRY.load("chained")(blocks=EVERY_STAGE_CHAIN), CONTRACT_DATAPOINTS)


class LeakyComposer(GrainedComposer):
    """What the original's hard-coded composer did: the snapshot as given, completion file included."""

    def compose_context(self, datapoint):
        return "\n".join(datapoint["repo_snapshot"]["content"])


def test_the_contract_catches_a_leaking_composer():
    with pytest.raises(AssertionError, match="leaked"):
        check_composer_contract(LeakyComposer, [datapoint()])
