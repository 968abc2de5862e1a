"""``naive``: every snapshot file in the snapshot's own order."""

from __future__ import annotations

import attrs

from lca_core.composing.composers import GrainedComposer


@attrs.define(kw_only=True)
class NaiveComposer(GrainedComposer):
    """lca-baselines' naive composer: the snapshot as stored, first file first, last file nearest."""
