"""A local GGUF file converted once into a plain Hugging Face directory, so later loads skip the conversion.

transformers reads a GGUF file three times (tokenizer, config, weights), parses every metadata field
in Python (a 49k-entry vocabulary is ~300k fields) and builds the tensor-name map once per tensor:
for SmolLM2-135M that is 25–45 s on the 2-core CPU dev machine before a single token is computed,
against ~2 s to load the same weights from safetensors. The first load converts (tokenizer, config,
de-quantized fp32 weights) into ``$LCA_CACHE/gguf/<name>-<key>/``; every later load reads that
folder. The key covers the file's path, size and modification time and the transformers version, so
a changed file or library converts again. Weights are exactly the de-quantized ones (fp32, the dtype
transformers de-quantizes to); the caller's dtype is applied when the folder is loaded, as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

#: written last: a folder without it is a conversion that did not finish
DONE = "lca-converted.txt"


def cached_folder(folder: str | Path, gguf_file: str) -> Path:
    """Where the conversion of ``folder/gguf_file`` lives (whether or not it exists yet)."""
    import transformers

    from lca_core.data.embedded import cache_dir

    path = (Path(folder) / gguf_file).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{transformers.__version__}"
    return cache_dir() / "gguf" / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def converted(folder: str | Path, gguf_file: str, *, trust_remote_code: bool = False) -> Path:
    """The plain Hugging Face folder of a local GGUF file, converting it on first use."""
    out = cached_folder(folder, gguf_file)
    if (out / DONE).exists():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_file, "trust_remote_code": trust_remote_code}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)  # de-quantized to fp32
    plain_hf_model(model)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / DONE).write_text(f"converted from {Path(folder) / gguf_file}\n", encoding="utf-8")
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished first; its folder is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def plain_hf_model(model: Any) -> None:
    """Forget that weights came from GGUF: they are dequantized already, and checkpoints must save
    as a plain Hugging Face directory (transformers refuses to save a model marked GGUF-quantized)."""
    model.hf_quantizer = None
    for attr in ("is_quantized", "quantization_method"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False if attr == "is_quantized" else None)
            except AttributeError:  # a read-only property
                pass
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
