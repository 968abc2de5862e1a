"""Helpers other test folders may import: a local tokenizer, preprocessors built by name, composed samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lca_core.api.components import Runtime
from lca_core.models.local_tokenizer import build_local_tokenizer, python_source_texts


def local_tokenizer_dir(out_dir: Path, vocab_size: int = 2048) -> Path:
    """Train the local BPE on ~300 kB of the standard library's Python sources into ``out_dir``."""
    build_local_tokenizer(python_source_texts(300_000), out_dir, vocab_size=vocab_size)
    return out_dir


def make_preprocessor(name: str, tokenizer: Any, **params: Any) -> Any:
    """A registered preprocessor, validated like a run file's table and set up with ``tokenizer``."""
    from lca_core.config.schema import ComponentConfig

    return ComponentConfig(kind="preprocessor", name=name, params=params).build(Runtime(tokenizer=tokenizer))


def composed_sample(
    prompt: str = "# owner__repo\n",
    context: str = "# a.py\nx = 1\n\n",
    completion: str = "# b.py\nimport a\nprint(a.x)\n",
    lines: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """A composed sample as a composer returns it (``completion_lines`` index composed_completion)."""
    return {
        "pre_context_prompt": prompt,
        "composed_context": context,
        "composed_completion": completion,
        "completion_lines": lines if lines is not None else {"inproject": [2], "non_informative": [1]},
    }
