"""Built-in blocks."""

from lca_core import hookimpl  # noqa: F401
