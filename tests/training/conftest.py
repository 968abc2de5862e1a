"""Fixtures of the training tests: one locally trained tokenizer per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from tests.training.tiny import tiny_tokenizer

    return tiny_tokenizer(tmp_path_factory.mktemp("tokenizer"))
