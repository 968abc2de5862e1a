"""``file_level``: no repository context at all; the completion file alone."""

from __future__ import annotations

import attrs

from lca_core.api.components import param
from lca_core.composing.composers import ComposerBase


@attrs.define(kw_only=True)
class FileLevelComposer(ComposerBase):
    """The baseline without project context: an empty context and, by default, no post-context prompt.

    The pre-context prompt (the repository name) and the completion's path comment stay, so the
    completion is framed exactly as with the other composers.
    """

    post_context_prompt: str = param("", doc="Text between the (empty) context and the completion file.")

    def compose_context(self, datapoint: dict) -> str:
        return ""
