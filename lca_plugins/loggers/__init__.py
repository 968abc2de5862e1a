"""Built-in loggers."""

from lca_core import hookimpl  # noqa: F401
