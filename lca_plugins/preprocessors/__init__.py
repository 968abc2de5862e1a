"""Built-in preprocessors."""

from lca_core import hookimpl  # noqa: F401
