"""Shared fixtures for the composer tests: a hand-made snapshot whose right orderings are known."""

from __future__ import annotations

import re

from tests.factories import make_datapoint

#: Renders every context file as @@path@@ so a test can read back the order.
MARKED = "@@{filename}@@\n{content}"

COMPLETION = '''import os
from a.b import sib
from .c import child


def run():
    value = sib.helper(1)
    return child.grow(value)
'''

#: path -> (content, directory hops from a/b/main.py)
SNAPSHOT = {
    "a/b/sib.py": ("def helper(x):\n    return x + 1\n", 0),
    "z/deep/far/q.py": ("Q = 1\n", 5),
    "a/b/c/child.py": ("def grow(v):\n    return v * 2\n", 1),
    "README.md": ("# Project\n\nA longer readme text.\n", 2),
    "a/other.py": ("import os\nvalue = sib.helper(1)\nOTHER = 2\n", 1),
    "a/x/y.py": ("class Y:\n    def method(self, a: int = 1) -> int:\n        return a\n", 2),
}


def datapoint(**overrides):
    """The hand-made datapoint; the completion file is ``a/b/main.py``."""
    kwargs = dict(
        repo="owner__proj",
        filename="a/b/main.py",
        content=COMPLETION,
        snapshot={path: content for path, (content, _) in SNAPSHOT.items()},
        lines={"inproject": [6, 7], "infile": [], "common": [], "commited": [], "non_informative": [0, 1, 2],
               "random": [5]},
    )
    kwargs.update(overrides)
    return make_datapoint(**kwargs)


def context_files(composer, dp) -> list[str]:
    """The files in ``composer``'s context, in order (the composer must use the MARKED template)."""
    return re.findall(r"^@@(.+?)@@$", composer.compose(dp)["composed_context"], flags=re.M)
