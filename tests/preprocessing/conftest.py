"""Fixtures of the preprocessing tests: one real byte-level BPE, trained once per session."""

from __future__ import annotations

import pytest

from tests.preprocessing.helpers import local_tokenizer_dir


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    """A directory holding a locally trained tokenizer (``AutoTokenizer.from_pretrained`` loads it)."""
    return local_tokenizer_dir(tmp_path_factory.mktemp("local-bpe"))


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir))
