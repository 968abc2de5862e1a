"""File preprocessors: rewrite each file's content before it is chunked."""

from __future__ import annotations

import attrs

from lca_core.composing.blocks import FilePreprocessorBlock
from lca_core.composing.composers import File
from lca_plugins.composers.python_source import declarations


@attrs.define(kw_only=True)
class EmptyLinesRemovalPreprocessor(FilePreprocessorBlock):
    """Removes blank (whitespace-only) lines."""

    def transform(self, file: File, datapoint: dict) -> str:
        return "\n".join(line for line in file.content.split("\n") if line.strip())


@attrs.define(kw_only=True)
class DeclarationOnlyPreprocessor(FilePreprocessorBlock):
    """Reduces a ``.py`` file to its class and function headers (each ending ``: ...``); other files pass."""

    def transform(self, file: File, datapoint: dict) -> str:
        return declarations(file.content) if file.filename.endswith(".py") else file.content
