"""Exact head and tail tokenization of long texts, cutting characters first (tokenizers cannot stop early).

Tokenizing a 1 MB snapshot to keep its last 10k tokens costs a second; cutting the text to
``chars_per_token × budget`` characters first costs milliseconds. A cut can change the tokens next
to it (a word split in two, a whitespace run shortened), so the tokens touching the cut are thrown
away and only tokens the full text would also have produced are kept: the result is the same as
tokenizing the whole text and slicing. When a cut yields too few tokens, the estimate grows (×1.5,
as the newest original) and the text is tokenized again; the grown estimate persists.

Unlike the original, the estimate also comes down: after a cut that was long enough it moves to
1.15 × the characters per token just seen. A fixed 6 chars/token on code that has 3 tokenizes
twice the tokens needed, and tokenizing is what bounds the throughput of composition.
"""

from __future__ import annotations

import math
from typing import Any

#: characters added to every cut, so the tokens thrown away at the cut rarely cause a retry
CUT_SLACK_CHARS = 64
#: how far into a cut text the first safe boundary is looked for, before looking further
SYNC_WINDOW_CHARS = 256
#: growth of chars-per-token when a cut falls short (the newest original's ceil(×1.5))
GROWTH = 1.5
#: after a cut that was long enough, the estimate moves down to this margin over the ratio just seen
MARGIN = 1.15


class Piece:
    """Consecutive tokens kept from one text: ``ids``, and the characters ``[start, end)`` they cover.

    Character offsets of single tokens are computed on demand (most callers never need them).
    """

    __slots__ = ("_enc", "_base", "_first", "ids", "start", "end")

    def __init__(self, enc: Any, base: int, first: int, count: int, empty_at: int):
        self._enc, self._base, self._first = enc, base, first
        self.ids: list[int] = enc.ids[first : first + count] if count > 0 else []
        if count > 0:
            self.start = base + enc.token_to_chars(first)[0]
            self.end = base + enc.token_to_chars(first + count - 1)[1]
        else:  # an empty tail sits at the text's end, an empty head at its start
            self.start = self.end = empty_at

    def __len__(self) -> int:
        return len(self.ids)

    def first(self, count: int) -> "Piece":
        return Piece(self._enc, self._base, self._first, max(0, min(count, len(self))), self.start)

    def last(self, count: int) -> "Piece":
        count = max(0, min(count, len(self)))
        return Piece(self._enc, self._base, self._first + len(self) - count, count, self.end)

    def offsets(self) -> list[tuple[int, int]]:
        """Per token, its character span in the text's coordinates."""
        offsets = self._enc.offsets[self._first : self._first + len(self)]
        base = self._base
        return offsets if base == 0 else [(s + base, e + base) for s, e in offsets]


class SegmentTokenizer:
    """Tokenizes the first or last ``budget`` tokens of texts, exactly, with character pre-truncation.

    ``chars_per_token`` is the first guess of characters per token (0 = never cut: tokenize whole
    texts, the slow reference); it grows when a cut falls short and keeps its grown value.
    """

    def __init__(self, tokenizer: Any, chars_per_token: float):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise TypeError(
                f"{type(tokenizer).__name__} is not a fast (Rust) tokenizer; the preprocessors need one "
                "for character offsets (load it with use_fast=True)"
            )
        self._backend = backend
        self._pre_tokenizer = backend.pre_tokenizer
        self.chars_per_token = float(chars_per_token)
        self.retries = 0

    def encode(self, texts: list[str]) -> list[Any]:
        return self._backend.encode_batch(texts, add_special_tokens=False) if texts else []

    # -- tails (context, prompt) ------------------------------------------------------------------

    def tails(self, texts: list[str], budgets: list[int]) -> list[Piece]:
        """The last ``budget`` tokens of each text (fewer only when the whole text has fewer)."""
        cuts = [self._cut_length(text, budget) for text, budget in zip(texts, budgets)]
        encodings = self.encode([text[len(text) - cut:] if cut < len(text) else text for text, cut in zip(texts, cuts)])
        return [self._tail(text, budget, cut, enc) for text, budget, cut, enc in zip(texts, budgets, cuts, encodings)]

    def _tail(self, text: str, budget: int, cut: int, enc: Any) -> Piece:
        while True:
            start = len(text) - cut if cut < len(text) else 0
            total = len(enc)
            if budget <= 0:  # never slice with [-0:], which keeps everything
                return Piece(enc, start, total, 0, len(text))
            if start == 0:
                keep = min(budget, total)
                return Piece(enc, 0, total - keep, keep, len(text))
            first_safe = self._first_safe_token(text, start, enc)
            if first_safe is not None and total - first_safe >= budget:
                self._learn(len(text) - start, total)
                return Piece(enc, start, total - budget, budget, len(text))
            cut = self._grow(text, budget)
            enc = self.encode([text[len(text) - cut:] if cut < len(text) else text])[0]

    def _first_safe_token(self, text: str, start: int, enc: Any) -> int | None:
        """Index of the first token of ``text[start:]`` that tokenizing all of ``text`` also yields.

        Pre-tokenization resynchronises after a cut: the first boundary that two cuts one character
        apart agree on is a boundary of the full text's pre-tokens too (this also handles digit
        groups such as ``\\p{N}{1,3}``, whose phase depends on where the cut fell).
        """
        window = SYNC_WINDOW_CHARS
        while True:
            piece = text[start:start + window]
            a = self._boundaries(piece)
            b = {x + 1 for x in self._boundaries(piece[1:])}
            common = sorted(x for x in a & b if 0 < x < len(piece))
            for char in common:
                token = enc.char_to_token(char)
                if token is not None:
                    return token
            if start + window >= len(text):
                return None
            window *= 4

    def _boundaries(self, text: str) -> set[int]:
        if self._pre_tokenizer is not None:
            return {end for _, (_, end) in self._pre_tokenizer.pre_tokenize_str(text)}
        return {end for _, end in self._backend.encode(text, add_special_tokens=False).offsets}

    # -- heads (completion) -----------------------------------------------------------------------

    def heads(self, texts: list[str], budgets: list[int]) -> list[Piece]:
        """The first ``budget`` tokens of each text."""
        cuts = [self._cut_length(text, budget) for text, budget in zip(texts, budgets)]
        encodings = self.encode([text[:cut] for text, cut in zip(texts, cuts)])
        return [self._head(text, budget, cut, enc) for text, budget, cut, enc in zip(texts, budgets, cuts, encodings)]

    def _head(self, text: str, budget: int, cut: int, enc: Any) -> Piece:
        while True:
            total = len(enc)
            if budget <= 0:
                return Piece(enc, 0, 0, 0, 0)
            if cut >= len(text):
                usable = total
            else:
                # Only the last pre-tokens can differ from the full text's (they touch the cut).
                usable = self._last_safe_end(enc)
            if cut < len(text) and usable >= budget:
                self._learn(cut, total)
            if cut >= len(text) or usable >= budget:
                return Piece(enc, 0, 0, min(budget, usable), 0)
            cut = self._grow(text, budget)
            enc = self.encode([text[:cut]])[0]

    @staticmethod
    def _last_safe_end(enc: Any) -> int:
        """How many leading tokens of a head-cut text tokenizing the full text also yields.

        Pre-tokens are matched left to right, so only the last ones (touching the cut, or looking
        ahead past it) can differ; the last two are dropped. Without pre-tokens, a margin of tokens.
        """
        words = enc.word_ids
        if not words or words[-1] is None:
            return max(0, len(words) - 16)
        last_two = {words[-1], words[-1] - 1}
        return next(i for i, w in enumerate(words) if w in last_two)

    # -- the chars-per-token estimate -------------------------------------------------------------

    def _cut_length(self, text: str, budget: int) -> int:
        if budget <= 0:
            return 0
        if self.chars_per_token <= 0:
            return len(text)
        return min(len(text), math.ceil(self.chars_per_token * budget) + CUT_SLACK_CHARS)

    def _learn(self, chars: int, tokens: int) -> None:
        if tokens:
            self.chars_per_token = min(self.chars_per_token, round(MARGIN * chars / tokens, 3))

    def _grow(self, text: str, budget: int) -> int:
        self.chars_per_token = math.ceil(self.chars_per_token * GROWTH * 100) / 100
        self.retries += 1
        return self._cut_length(text, budget)
