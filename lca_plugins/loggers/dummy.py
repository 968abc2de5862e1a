"""The ``dummy`` logger: records nothing (for debugging runs whose outputs nobody needs)."""

from __future__ import annotations

import attrs

from lca_core.api.loggers import LoggerBase


@attrs.define(kw_only=True)
class DummyLogger(LoggerBase):
    """Accepts every call of the logger contract and writes nothing anywhere."""
