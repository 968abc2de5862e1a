"""The training tests' locally trained tokenizer, shared."""

from tests.training.conftest import tokenizer  # noqa: F401
