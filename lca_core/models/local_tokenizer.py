"""Train a small byte-level BPE tokenizer on local text, for tests and offline runs without the hub.

It is a real tokenizer of the same family as the code models' (GPT-2 style byte-level BPE with a
regex pre-tokenizer), so offsets, merges across whitespace and multi-byte characters behave as they
do at full size; only the vocabulary is small.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"


def build_local_tokenizer(texts: Iterable[str], out_dir: Path, vocab_size: int = 2048) -> Any:
    """Train a byte-level BPE on ``texts``, save it to ``out_dir`` and return it.

    The result is a ``PreTrainedTokenizerFast`` with ``<s>`` (bos), ``</s>`` (eos) and ``<pad>``
    tokens; ``AutoTokenizer.from_pretrained(out_dir)`` loads the same tokenizer again.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS_TOKEN, EOS_TOKEN, PAD_TOKEN],
        # every byte is in the vocabulary, so any text (emoji, CJK, control bytes) encodes
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def python_source_texts(max_chars: int = 1_000_000) -> list[str]:
    """Python sources of the standard library, up to ``max_chars`` characters: training text that is always here."""
    import sysconfig

    texts: list[str] = []
    total = 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return texts
