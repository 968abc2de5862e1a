"""Moved to `lca_core.redact` (the CLI redacts what it prints too); this name keeps working."""

from lca_core.redact import redact, secret_values

__all__ = ["redact", "secret_values"]
