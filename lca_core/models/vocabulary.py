"""Facts about a tokenizer's vocabulary that training metrics and evaluation both need."""

from __future__ import annotations

from typing import Any


def newline_token_mask(tokenizer: Any, vocab_size: int) -> Any:
    """A bool tensor over the model's vocabulary: True for tokens whose text contains a newline.

    ``vocab_size`` is the model's (its output layer may be larger than the tokenizer).
    """
    import torch

    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for token_id in range(min(vocab_size, len(tokenizer))):
        if "\n" in tokenizer.decode([token_id]):
            mask[token_id] = True
    return mask
