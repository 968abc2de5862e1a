"""Differential cases: small hand-written inputs whose expected values are what the original lca-solvers
blocks produce (newest version, tree-sitter), each reproducing one difference issue 17 measured."""

from __future__ import annotations

import pytest

from lca_core.api.components import Runtime
from lca_core.composing.composers import File
from lca_plugins.composers.python_source import code_segments, count_calls
from tests.composers.helpers import datapoint
from tests.composers.test_blocks import block

# (source, the original CodeSegmentGrainedChunker's chunks by kind)
SEGMENT_CASES = [
    # A dropped end-of-line comment gives its line break back: lines are not joined.
    ("if x:\n    a = f(1)  # note\nb = 2\n", {"code": "if x:\n    a = f(1)\nb = 2"}),
    ("def f():\n    a = 1  # c\n    return a\n", {"code": "def f():\n    a = 1\n    return a"}),
    ("x = [\n    1,  # one\n    2,\n]\n", {"code": "x = [\n    1,\n    2,\n]"}),
    ("import os  # why\nimport sys\n", {"import": "import os\nimport sys"}),
    # ... and so does a kept end-of-line comment that starts a comment run.
    ("class A:\n    x = 1  # one\n    # two\n    # three\n    y = 2\n",
     {"comment": "# one\n# two\n# three", "code": "class A:\n    x = 1\n    y = 2"}),
    ("# a\n# b\nx = 1  # c\n# d\n# e\ny = 2\n", {"comment": "# a\n# b\n# c\n# d\n# e", "code": "x = 1\ny = 2"}),
    # Every line of a chunk is right-stripped; comment and docstring lines are stripped on both sides.
    ("x = 1   \ny = 2\t\n", {"code": "x = 1\ny = 2"}),
    ('def f():\n    """  Doc.  \n    More.\n    """\n    \'\'\'Second.\'\'\'\n    return 1\n',
     {"docstring": '"""  Doc.\nMore.\n"""\n\'\'\'Second.\'\'\'', "code": "def f():\n    return 1"}),
    # A comment inside an import's brackets belongs to the import (one tree-sitter node).
    ("from typing import (  # noqa\n    Any,\n    Dict,\n)\nx = 1\n",
     {"import": "from typing import (  # noqa\n    Any,\n    Dict,\n)", "code": "x = 1"}),
    # A semicolon ends the import statement.
    ("import os; x = 1\n", {"import": "import os", "code": "; x = 1"}),
]


@pytest.mark.parametrize("source, expected", SEGMENT_CASES)
def test_code_segments_equal_the_original_chunker(source, expected):
    assert code_segments(source) == expected


def test_the_chunker_block_keeps_line_counts_of_code():
    source = "if x:\n    a = f(1)  # note\nb = 2\n"
    [chunk] = block("code_segment_grained_chunker").apply([File("m.py", source)], datapoint())
    assert chunk.content.count("\n") == 2 and chunk.metadata["segment_type"] == "code"


@pytest.mark.parametrize("source, calls", [
    ('print(f"{g(x)} and {h(y)!r}")\n', 3),          # calls inside f-strings count
    ('x = f"{a:{width(b)}}"\n', 1),                   # ... also inside a format spec
    ('y = rf"{g()}" + F"{h()}"\n', 2),                # ... whatever the prefix's case and order
    ('s = "{g()}" + r"f(x)"\n', 0),                   # plain strings hold no calls
    ("match p:\n    case Point(x=0) if ok(p):\n        draw(p)\n    case [Point(), *rest]:\n        pass\n", 2),
    ("match (x):\n    case _:\n        f()\n", 1),      # `match (x)` is no call, a class pattern neither
    ("f()\n(g)\n", 1),                                # a parenthesis on the next line calls nothing
    ("            a.b(c %(d,))\n        os.kill(pid, 15)\n", 2),  # an inconsistent dedent (a cut chunk)
])
def test_call_counts_equal_the_originals_tree_sitter(source, calls):
    assert count_calls(source) == calls


@pytest.fixture
def bos_tokenizer(tokenizer):
    """The session tokenizer, but adding a BOS when asked for special tokens (as deepseek-coder's does)."""
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    bos = tokenizer.bos_token
    backend.post_processor = TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tokenizer.bos_token_id)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token=tokenizer.eos_token,
                                   pad_token=tokenizer.pad_token)


def test_token_filters_count_the_bos_as_the_original(bos_tokenizer):
    text = "value = compute(1)\n"
    n = len(bos_tokenizer(text, add_special_tokens=False)["input_ids"])
    files = [File("a.py", text)]
    length = block("tokenized_file_length_filter", min_len=0, max_len=n)
    length.setup(Runtime(tokenizer=bos_tokenizer))
    assert length.apply([File("a.py", text)], datapoint()) == []  # n + 1 tokens with the BOS
    wider = block("tokenized_file_length_filter", min_len=0, max_len=n + 1)
    wider.setup(Runtime(tokenizer=bos_tokenizer))
    assert [f.filename for f in wider.apply(files, datapoint())] == ["a.py"]
    ratio = block("char_token_ratio_filter", min_ratio=len(text) / (n + 1), max_ratio=len(text) / (n + 1))
    ratio.setup(Runtime(tokenizer=bos_tokenizer))
    assert [f.filename for f in ratio.apply(files, datapoint())] == ["a.py"]
