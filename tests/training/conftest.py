"""Training tests run on one CPU thread (the session tokenizer comes from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_cpu_thread):
    yield
