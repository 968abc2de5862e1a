"""Built-in composers."""

from lca_core import hookimpl  # noqa: F401
