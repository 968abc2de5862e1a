"""File filters: the first stage of a chain, keeping or dropping whole snapshot files."""

from __future__ import annotations

import random

import attrs

from lca_core.api.components import Runtime, param
from lca_core.api.errors import ParamError, RunError
from lca_core.composing.blocks import FileFilterBlock
from lca_core.composing.composers import File, datapoint_seed
from lca_plugins.composers.features import has_extension


def _ordered_range(instance, low: str, high: str) -> None:
    if getattr(instance, low) > getattr(instance, high):
        raise ParamError(high, f"must be ≥ {low} ({getattr(instance, low)}), got {getattr(instance, high)}")


@attrs.define(kw_only=True)
class NullFileFilter(FileFilterBlock):
    """Drops every file: the context is empty (the original's ``empty`` preset)."""

    def keep(self, file: File, datapoint: dict) -> bool:
        return False


@attrs.define(kw_only=True)
class InclusiveFileExtensionFilter(FileFilterBlock):
    """Keeps only files whose name ends with one of ``whitelist``."""

    whitelist: list[str] = param(factory=lambda: [".py"], doc="Suffixes to keep, e.g. [\".py\", \".md\"].")

    def keep(self, file: File, datapoint: dict) -> bool:
        return file.filename.endswith(tuple(self.whitelist))


@attrs.define(kw_only=True)
class ExclusiveFileExtensionFilter(FileFilterBlock):
    """Drops files whose name ends with one of ``blacklist``."""

    blacklist: list[str] = param(factory=list, doc="Suffixes to drop, e.g. [\".json\", \".csv\"].")

    def keep(self, file: File, datapoint: dict) -> bool:
        return not (self.blacklist and has_extension(file.filename, self.blacklist))


@attrs.define(kw_only=True)
class EmptyFileFilter(FileFilterBlock):
    """Drops files that hold nothing but whitespace."""

    def keep(self, file: File, datapoint: dict) -> bool:
        return bool(file.content.strip())


@attrs.define(kw_only=True)
class FileLengthFilter(FileFilterBlock):
    """Keeps files of ``min_len`` to ``max_len`` characters (both included)."""

    min_len: int = param(0, doc="Fewest characters kept.")
    max_len: int = param(20_000, doc="Most characters kept.")

    def __attrs_post_init__(self) -> None:
        _ordered_range(self, "min_len", "max_len")

    def keep(self, file: File, datapoint: dict) -> bool:
        return self.min_len <= len(file.content) <= self.max_len


@attrs.define(kw_only=True)
class _TokenizerFilter(FileFilterBlock):
    _tokenizer: object = attrs.field(default=None, init=False, eq=False, repr=False)

    def setup(self, runtime: Runtime) -> None:
        self._tokenizer = runtime.tokenizer

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` with the tokenizer's special tokens (a BOS counts), as the original counted."""
        if self._tokenizer is None:
            raise RunError(f"block {type(self).__name__} needs the run's tokenizer, but the composer was set up "
                           "without one; build the composer with Runtime(tokenizer=...)")
        return len(self._tokenizer(text)["input_ids"])


@attrs.define(kw_only=True)
class TokenizedFileLengthFilter(_TokenizerFilter):
    """Keeps files of ``min_len`` to ``max_len`` tokens of the run's tokenizer."""

    min_len: int = param(0, doc="Fewest tokens kept.")
    max_len: int = param(4096, doc="Most tokens kept.")

    def __attrs_post_init__(self) -> None:
        _ordered_range(self, "min_len", "max_len")

    def keep(self, file: File, datapoint: dict) -> bool:
        if "num_tokens" not in file.metadata:
            file.metadata["num_tokens"] = self.count_tokens(file.content)
        return self.min_len <= file.metadata["num_tokens"] <= self.max_len


@attrs.define(kw_only=True)
class CharTokenRatioFilter(_TokenizerFilter):
    """Keeps files whose characters per token, measured on a random window, lie in [min_ratio, max_ratio].

    Minified, generated or binary-like files tokenize badly (few characters per token). The window
    of ``subsequence_len`` characters is drawn per (random_seed, datapoint, file), so the choice is
    the same in every worker.
    """

    min_ratio: float = param(1.5, doc="Lowest characters per token kept.")
    max_ratio: float = param(1e9, doc="Highest characters per token kept.")
    subsequence_len: int = param(2048, doc="Characters tokenized per file (a random window).")
    random_seed: int = param(0, doc="Seed of the window draws.")

    def __attrs_post_init__(self) -> None:
        _ordered_range(self, "min_ratio", "max_ratio")
        if self.subsequence_len < 1:
            raise ParamError("subsequence_len", f"must be ≥ 1, got {self.subsequence_len}")

    def keep(self, file: File, datapoint: dict) -> bool:
        text = file.content
        if len(text) > self.subsequence_len:
            rng = random.Random(datapoint_seed(self.random_seed, datapoint, file.filename))
            start = rng.randrange(len(text) - self.subsequence_len + 1)
            text = text[start:start + self.subsequence_len]
        tokens = self.count_tokens(text)
        ratio = len(text) / tokens if tokens else 0.0
        return self.min_ratio <= ratio <= self.max_ratio
