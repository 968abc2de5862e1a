"""Chained composer and its blocks: the legal order, each block on known input, equivalence with presets."""

from __future__ import annotations

import pytest

from lca_core.api.components import Runtime, build_params
from lca_core.api.errors import RunError
from lca_core.api.plugins import get_plugin_manager
from lca_core.composing.blocks import order_problem
from lca_core.composing.composers import Chunk, File
from lca_plugins.composers.chained import ChainedComposer
from lca_plugins.composers.path_distance import PathDistanceComposer
from lca_plugins.composers.python_files import PythonFilesComposer
from lca_plugins.composers.python_source import code_segments, count_calls, declarations, imported_modules
from tests.composers.helpers import datapoint
from tests.composers.test_builtins import CONTRACT_DATAPOINTS

BLOCKS = get_plugin_manager().registry("block")


def block(name, **params):
    obj, problems = build_params(BLOCKS.load(name), params, "block")
    assert not problems, problems
    return obj


@pytest.mark.parametrize("params", [
    {},
    {"chunks_sep": "\n#####\n", "path_comment_template": "<<{filename}>>\n{content}", "pre_context_prompt": ""},
])
def test_chained_with_the_standard_blocks_reproduces_path_distance_exactly(params):
    chained, path_distance = ChainedComposer(**params), PathDistanceComposer(**params)
    for dp in CONTRACT_DATAPOINTS:
        assert chained.compose(dp) == path_distance.compose(dp)
    explicit = ChainedComposer(**params, blocks=[
        {"name": "file_grained_chunker"}, {"name": "negative_path_distance_ranker"},
        {"name": "lexicographic_sorter"}, {"name": "path_comment_harvester"}])
    assert explicit.compose(datapoint()) == path_distance.compose(datapoint())


def test_chained_with_a_py_filter_reproduces_python_files():
    chained = ChainedComposer(blocks=[{"name": "inclusive_file_extension_filter", "whitelist": [".py"]},
                                      {"name": "file_grained_chunker"}, {"name": "negative_path_distance_ranker"},
                                      {"name": "lexicographic_sorter"}, {"name": "path_comment_harvester"}])
    for dp in CONTRACT_DATAPOINTS:
        assert chained.compose(dp) == PythonFilesComposer().compose(dp)


def test_resolved_blocks_show_every_default_and_the_inherited_harvester_settings():
    composer = ChainedComposer(chunks_sep="|")
    assert composer.blocks[-1] == {"name": "path_comment_harvester", "chunks_sep": "|",
                                   "path_comment_template": "# {filename}\n{content}"}
    assert ChainedComposer(chunks_sep="|", blocks=composer.blocks) == composer  # resolved tables build the same chain


@pytest.mark.parametrize(("blocks", "path", "fragment"), [
    ([], "composer.blocks", "at least one block"),
    ([{"name": "negative_path_distance_ranker"}], "composer.blocks[0].name", "cannot start"),
    ([{"name": "file_grained_chunker"}, {"name": "lexicographic_sorter"}, {"name": "joining_harvester"}],
     "composer.blocks[1].name", "after a chunker comes a ranker or a harvester"),
    ([{"name": "file_grained_chunker"}, {"name": "negative_path_distance_ranker"}], "composer.blocks[1].name",
     "cannot end"),
    ([{"name": "file_grained_chunker"}, {"name": "joining_harvestr"}], "composer.blocks[1].name",
     "did you mean 'joining_harvester'"),
    ([{"name": "file_grained_chunker"}, {"name": "joining_harvester", "sep": ","}], "composer.blocks[1].sep",
     "unknown key"),
    ([{"name": "file_length_filter", "min_len": 9, "max_len": 1}, {"name": "file_grained_chunker"},
      {"name": "joining_harvester"}], "composer.blocks[0].max_len", "must be ≥ min_len"),
    ([{"blacklist": []}], "composer.blocks[0].name", "missing block name"),
])
def test_bad_chains_are_reported_at_the_block_index(blocks, path, fragment):
    obj, problems = build_params(ChainedComposer, {"blocks": blocks}, "composer")
    assert obj is None
    assert [p.path for p in problems] == [path]
    assert fragment in problems[0].message


def test_every_registered_block_declares_a_stage_the_order_check_knows():
    for name in BLOCKS.names():
        cls = BLOCKS.load(name)
        assert cls.kind == "block" and cls.stage != "block", name
    harvester = block("joining_harvester")
    assert order_problem([block("file_grained_chunker"), harvester], ["a", "b"]) is None
    assert order_problem([harvester, block("line_strip_postprocessor")], ["h", "p"])[0] == 0


def files(**contents):
    return [File(name.replace("__", "/").replace("_dot_", "."), text) for name, text in contents.items()]


def test_filters_keep_the_files_they_say():
    snapshot = [File("a.py", "x = 1\n"), File("b.md", "   \n"), File("c.json", "{}" * 20)]
    kept = lambda name, **p: [f.filename for f in block(name, **p).apply(snapshot, datapoint())]  # noqa: E731
    assert kept("null_file_filter") == []
    assert kept("inclusive_file_extension_filter", whitelist=[".py", ".md"]) == ["a.py", "b.md"]
    assert kept("exclusive_file_extension_filter", blacklist=[".json"]) == ["a.py", "b.md"]
    assert kept("empty_file_filter") == ["a.py", "c.json"]
    assert kept("file_length_filter", min_len=5, max_len=10) == ["a.py"]


def test_tokenizer_filters_use_the_runtime_tokenizer(tmp_path):
    from lca_core.models.local_tokenizer import build_local_tokenizer

    tokenizer = build_local_tokenizer(["def f(x):\n    return x\n" * 50], tmp_path / "tok", vocab_size=300)
    snapshot = [File("short.py", "def f(x):\n"), File("long.py", "def f(x):\n    return x\n" * 40)]
    length = block("tokenized_file_length_filter", min_len=1, max_len=50)
    with pytest.raises(RunError, match="needs the run's tokenizer"):
        length.apply(snapshot, datapoint())
    length.setup(Runtime(tokenizer=tokenizer))
    assert [f.filename for f in length.apply(snapshot, datapoint())] == ["short.py"]
    ratio = block("char_token_ratio_filter", min_ratio=0.0, max_ratio=1.0, subsequence_len=16)
    ratio.setup(Runtime(tokenizer=tokenizer))
    # A trained BPE packs the repeated code into several characters per token: nothing passes ≤ 1.0.
    assert ratio.apply(snapshot, datapoint()) == []


def test_file_preprocessors_rewrite_content():
    snapshot = [File("a.py", "class A:\n\n    def f(self):\n        return 1\n"), File("b.txt", "x\n\n\ny")]
    removed = block("empty_lines_removal_preprocessor").apply(snapshot, datapoint())
    assert [f.content for f in removed] == ["class A:\n    def f(self):\n        return 1", "x\ny"]
    decl = block("declaration_only_preprocessor").apply(snapshot, datapoint())
    assert [f.content for f in decl] == ["class A: ...\n    def f(self): ...", "x\n\n\ny"]


def test_declarations_handle_multiline_headers_decorators_and_python2():
    source = ("@decorator(x=1)\nasync def fetch(\n    url: str,\n    key=lambda v: v,\n) -> dict[str, int]:  # note: c\n"
              "    pass\n\nclass B(A, metaclass=M): x = 1\n")
    assert declarations(source) == ("async def fetch(\n    url: str,\n    key=lambda v: v,\n) -> dict[str, int]: ...\n"
                                    "class B(A, metaclass=M): ...")
    assert declarations("print 'py2'\ndef f(a):\n  print a\n") == "def f(a): ..."


def test_code_segment_chunker_splits_python_into_four_kinds():
    source = ('"""Module doc."""\nimport os\nfrom a import b\n\n# one-line comment dropped\nx = 1\n'
              "# a comment block\n# of two lines\ndef f():\n    '''Doc.'''\n    return os.path.join(b, x)\n")
    segments = code_segments(source)
    assert segments["docstring"] == '"""Module doc."""\n\'\'\'Doc.\'\'\''
    assert segments["import"] == "import os\nfrom a import b"
    assert segments["comment"] == "# a comment block\n# of two lines"
    assert "one-line comment" not in segments["code"] and segments["code"].startswith("x = 1")
    chunks = block("code_segment_grained_chunker").apply([File("m.py", source), File("r.md", "# T\n")], datapoint())
    assert [c.metadata["segment_type"] for c in chunks] == ["comment", "docstring", "import", "code", "file"]


def test_rankers_append_their_keys():
    dp = datapoint()
    chunks = [Chunk("f(g(1)); h[0](2)", File("a/b/x.py", "")), Chunk("call()", File("docs/y.md", "")),
              Chunk("def f(x): pass\nclass C(B): pass\nif (x): pass", File("a/b/c/z.py", ""))]
    block("function_call_ranker").apply(chunks, dp)
    block("negative_path_distance_ranker").apply(chunks, dp)
    block("file_extension_ranker", ordered_groups=[[".md"], [".py"]]).apply(chunks, dp)
    assert [c.rank for c in chunks] == [[3, 0, 1], [0, -3, 0], [0, -1, 1]]
    assert count_calls("print(x)\nprint 'py2' + str(1)") == 2
    permutation = [k for c in block("random_ranker").apply([Chunk("", File(str(i), "")) for i in range(6)], dp)
                   for k in c.rank]
    assert sorted(permutation) == list(range(6))
    again = [k for c in block("random_ranker").apply([Chunk("", File(str(i), "")) for i in range(6)], dp)
             for k in c.rank]
    assert again == permutation


def test_sorters_put_the_best_chunk_last():
    def ranked(*ranks):
        return [Chunk(str(i), File(f"{i}.py", ""), rank=list(r)) for i, r in enumerate(ranks)]

    lex = block("lexicographic_sorter").apply(ranked((1, 0), (0, 5), (1, -1), (0, 5)), datapoint())
    assert [c.content for c in lex] == ["1", "3", "2", "0"]
    # Round robin, best first: best by ranker 0 (chunk 2), then by ranker 1 among the rest (chunk 0), ...
    mixed = block("mixed_sorter").apply(ranked((1, 9), (2, 0), (3, 1), (0, 5)), datapoint())
    assert [c.content for c in mixed] == ["3", "1", "0", "2"]


def test_harvesters_and_postprocessors():
    chunks = [Chunk("  a  \nbb", File("x.py", "")), Chunk("c", File("y.py", ""))]
    assert block("joining_harvester", chunks_sep="|").apply(chunks, datapoint()) == "  a  \nbb|c"
    assert block("path_comment_harvester", chunks_sep="|", path_comment_template="[{filename}]{content}") \
        .apply(chunks, datapoint()) == "[x.py]  a  \nbb|[y.py]c"
    assert block("line_strip_postprocessor").apply(" a \n b", datapoint()) == "a\nb"
    assert block("line_length_postprocessor", min_len=2, max_len=3).apply("a\nbb\nccc\ndddd", datapoint()) == "bb\nccc"
    text = "\n".join(map(str, range(1000)))
    kept = block("partial_memory_postprocessor", dropout=0.5).apply(text, datapoint()).split("\n")
    assert 400 < len(kept) < 600
    assert block("inverse_frequency_memory_postprocessor").apply(text, datapoint()) == text


def test_relative_imports_resolve_against_the_package():
    modules = imported_modules("from . import x\nfrom ..up import y\nimport os.path as p\n", "pkg/sub/mod.py")
    assert {"pkg.sub", "pkg.sub.x", "pkg.up", "pkg.up.y", "os.path"} <= modules
