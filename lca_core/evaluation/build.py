"""Assembling an evaluation from a run file, as training/build.py does a training run: datapoints, models,
composers, the check that the window leaves room for context, and the loop over models × composers that
writes results as each pair finishes and resumes an interrupted evaluation (evaluation/store.py)."""

from __future__ import annotations

import shlex
import signal
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from lca_core.evaluation.checkpoints import ModelChoice
from lca_core.evaluation.runner import FileResult, Settings

#: a composer other than file_level should see at least this many context tokens ...
MIN_CONTEXT_TOKENS = 512
#: ... and at least this share of the window
MIN_CONTEXT_SHARE = 0.25


@attrs.frozen
class Plan:
    """What ``lca-run eval`` was asked for: every model is evaluated with every composer."""

    settings: Settings
    choices: list[ModelChoice]
    composers: list[str]
    limit: int
    out_dir: Path


def eval_datapoints(config: Any, limit: int) -> list[dict]:
    """The datapoints of [data], the first ``limit`` of them (0 = all)."""
    from lca_core.data.loading import load_datapoints

    dataset = load_datapoints(config)
    if limit:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return list(dataset)


def eval_window(config: Any, max_seq_len: int, max_new_tokens: int, mode: str = "generation") -> int:
    """The evaluation window: ``max_seq_len`` (0: [preprocessor] max_seq_len); a ConfigError at --max-seq-len
    when generation would leave no room for the prompt (teacher forcing generates nothing)."""
    from lca_core.api.errors import ConfigError, ConfigProblem

    window = max_seq_len or config.preprocessor.instance.max_seq_len
    if mode == "generation" and window <= max_new_tokens:
        raise ConfigError([ConfigProblem("--max-seq-len", f"{window} leaves no room for the prompt with "
                                                          f"--max-new-tokens {max_new_tokens}")])
    return window


def load_eval_model(config: Any, choice: ModelChoice) -> tuple[Any, Any, Any]:
    """Model, tokenizer and hardware for one --checkpoint choice; never compiled (decode shapes change every step)."""
    from lca_core.models.loading import choose_hardware, load_model, load_tokenizer

    hardware = attrs.evolve(choose_hardware(config.model), compile=False, gradient_checkpointing=False)
    has_tokenizer = choice.model_dir is not None and any(
        (choice.model_dir / name).exists() for name in ("tokenizer.json", "tokenizer_config.json"))
    tokenizer = load_tokenizer(config, from_dir=choice.model_dir if has_tokenizer else None)
    model = load_model(config, hardware, tokenizer=tokenizer, from_dir=choice.model_dir)
    model.eval()
    return model, tokenizer, hardware


def composer_params(config: Any, name: str) -> dict[str, Any]:
    """The run's [composer] table for its own name, defaults (no parameters) for any other composer."""
    return dict(config.composer.params) if name == config.composer.name else {}


def build_composer(config: Any, name: str, tokenizer: Any) -> Any:
    from lca_core.api.components import make_runtime
    from lca_core.config.schema import ComponentConfig
    from lca_core.api.plugins import get_plugin_manager

    component = ComponentConfig(kind="composer", name=name, params=composer_params(config, name))
    return component.build(make_runtime(config, tokenizer), manager=get_plugin_manager())


# --- is there room for context? ----------------------------------------------------------------


def context_room(tokenizer: Any, datapoints: list[dict], settings: Settings) -> list[int]:
    """Per datapoint with scored lines: about how many context tokens the window leaves once the
    completion file (up to its last scored line) and, in generation, the new tokens are in."""
    rooms = []
    for datapoint in datapoints:
        lines = [int(n) for c in settings.categories for n in datapoint["completion_lines"].get(c, [])]
        if not lines:
            continue
        text = datapoint["completion_file"]["content"].split("\n")[: max(lines) + 1]
        need = len(tokenizer("\n".join(text) + "\n", add_special_tokens=False).input_ids) + 1  # + BOS
        if settings.mode == "generation":
            need += settings.max_new_tokens
        rooms.append(settings.max_seq_len - need)
    return rooms


def room_warning(rooms: list[int], settings: Settings, composers: list[str]) -> str | None:
    """A warning when composers other than file_level would see too little context to differ, else None."""
    others = [name for name in composers if name != "file_level"]
    if not rooms or not others:
        return None
    window = settings.max_seq_len
    wanted = max(MIN_CONTEXT_TOKENS, int(MIN_CONTEXT_SHARE * window))
    room = int(statistics.median(rooms))
    if room >= wanted:
        return None
    need = window - room  # the median file's own tokens (and the new tokens)
    suggested = max(need + MIN_CONTEXT_TOKENS, int(need / (1 - MIN_CONTEXT_SHARE)) + 1)
    suggested = -(-suggested // 256) * 256
    short = sum(r < wanted for r in rooms)
    return (f"--max-seq-len {window} leaves about {max(room, 0)} context tokens for {', '.join(others)} "
            f"(median over {len(rooms)} files; {short} of them below {wanted}): the completion file up to its last "
            f"scored line{' and --max-new-tokens take' if settings.mode == 'generation' else ' takes'} the rest, so the "
            f"composers can hardly differ; use --max-seq-len {suggested} or more")


# --- stop signals ------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT during an evaluation. A KeyboardInterrupt, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGINT stop at once: every finished datapoint is on disk already."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# --- the loop -------------------------------------------------------------------------------------


def pair_identity(config: Any, plan: Plan, choice: ModelChoice, composer: str, n_datapoints: int) -> dict[str, Any]:
    """Everything that decides a (model, composer) pair's numbers: a saved pair is reused only when all agree."""
    from lca_core.config.loader import config_to_dict

    weights = choice.model_dir / "config.json" if choice.model_dir is not None else None
    resolved = config_to_dict(config)
    return {
        "model": choice.label, "model_dir": str(choice.model_dir or config.model.name_or_path),
        "weights_mtime": weights.stat().st_mtime_ns if weights is not None and weights.exists() else None,
        "model_section": resolved.get("model"), "data": resolved.get("data"),
        "composer": composer, "composer_params": composer_params(config, composer),
        # batch size and prefix reuse change the speed, not the tokens the model sees
        "settings": attrs.asdict(plan.settings, filter=lambda a, _: a.name not in ("batch_size", "prefix_reuse")),
        "limit": plan.limit, "datapoints": n_datapoints,
    }


def summarize(files: list[FileResult]) -> dict[str, Any]:
    """A pair's numbers: per-category metrics, the context tokens the model saw, the time it took."""
    from lca_core.evaluation.metrics import aggregate

    scores = [s for f in files for s in f.scores]
    contexts = [f.context_tokens for f in files if f.context_tokens is not None]
    seconds = sum(f.seconds for f in files)
    decoding = total_decoding(files)
    return {
        "seconds": round(seconds, 2),
        "seconds_per_line": round(seconds / max(len(scores), 1), 4),
        "context_tokens": {
            "mean": round(statistics.fmean(contexts), 1) if contexts else 0.0,
            "min": min(contexts, default=0), "max": max(contexts, default=0), "files": len(contexts),
        },
        "categories": aggregate(scores),
        # generation: seconds and counts of shared prefills, row prefills, graph captures, decode steps
        **({"decoding": decoding} if decoding else {}),
    }


def run_evaluation(config: Any, plan: Plan, *, progress: bool = True,
                   write: Callable[[list[dict], list[dict], dict], None]) -> tuple[list[dict], list[dict], Any]:
    """Evaluate every (model, composer) pair; ``write(results, predictions, state)`` after each one, where
    ``state`` holds ``hardware``, ``datapoints`` (how many) and ``complete`` (False until the last pair).

    SIGTERM/SIGINT stop at once with a `RunStopped` that says what is saved and how to continue.
    """
    from lca_core.evaluation import store
    from lca_core.training.faults import RunStopped

    results: list[dict] = []
    predictions: list[dict] = []
    state: dict[str, Any] = {"hardware": None, "pair": "", "datapoints": 0, "complete": False}
    with stop_on_signals():
        try:
            datapoints = eval_datapoints(config, plan.limit)
            state["datapoints"] = len(datapoints)
            print(f"evaluating {len(datapoints)} datapoints × {len(plan.composers)} composer(s) × "
                  f"{len(plan.choices)} model(s); {plan.settings.mode}, categories "
                  f"{', '.join(plan.settings.categories)}, {plan.settings.max_seq_len} tokens", file=sys.stderr)
            warned = False
            for choice in plan.choices:
                pairs = {name: store.Progress.open(plan.out_dir, pair_identity(config, plan, choice, name,
                                                                              len(datapoints)))
                         for name in plan.composers}
                if all(len(p.done) == len(datapoints) for p in pairs.values()):
                    loaded = None  # every pair of this model is on disk: no need to load it
                else:
                    loaded = load_eval_model(config, choice)
                    state["hardware"] = loaded[2]
                    if not warned:
                        warned = True
                        message = room_warning(context_room(loaded[1], datapoints, plan.settings), plan.settings,
                                               plan.composers)
                        if message:
                            warnings.warn(message, stacklevel=2)
                for name, pair in pairs.items():
                    state["pair"] = f"{choice.label} · {name}"
                    files = _evaluate_pair(loaded, config, name, datapoints, plan.settings, pair, progress,
                                           label=state["pair"])
                    results.append({"model": choice.label, "model_dir": str(choice.model_dir or config.model.name_or_path),
                                    "composer": name, "composer_params": _resolved_params(loaded, config, name),
                                    **summarize(files)})
                    predictions += [{"model": choice.label, "composer": name, **attrs.asdict(p)}
                                    for f in files for p in f.predictions]
                    write(results, predictions, state)
                del loaded
        except Interrupted as exc:
            total = len(plan.choices) * len(plan.composers)
            again = shlex.join(["lca-run", *sys.argv[1:]])
            raise RunStopped(f"{exc.signum and signal.Signals(exc.signum).name}: evaluation stopped during "
                             f"{state['pair'] or 'start-up'}; {len(results)} of {total} model × composer results are "
                             f"in {plan.out_dir / 'eval.json'} and every finished datapoint is saved; to continue, "
                             f"run `{again}` again", exc.signum) from None
    state["complete"] = True
    write(results, predictions, state)
    store.remove(plan.out_dir)
    return results, predictions, state["hardware"]


def _resolved_params(loaded: Any, config: Any, name: str) -> dict[str, Any]:
    from lca_core.api.components import resolved_params

    try:
        return resolved_params(build_composer(config, name, loaded[1] if loaded is not None else None))
    except Exception:  # noqa: BLE001 - all of this model was resumed from disk and this composer needs a tokenizer
        return composer_params(config, name)


def _evaluate_pair(loaded: Any, config: Any, name: str, datapoints: list[dict], settings: Settings, pair: Any,
                   progress: bool, *, label: str) -> list[FileResult]:
    """One (model, composer): the saved datapoints, then the others, each saved as it finishes."""
    from tqdm import tqdm

    from lca_core.evaluation.runner import evaluate_files
    from lca_core.training.progress import on_terminal

    todo = [(i, d) for i, d in enumerate(datapoints) if i not in pair.done]
    if todo:
        model, tokenizer, _ = loaded
        composer = build_composer(config, name, tokenizer)
        known = "random" not in settings.categories  # random is recomputed by composers: count it as we go
        lines = (lambda ds: sum(len(d["completion_lines"].get(c, [])) for d in ds for c in settings.categories))
        total = lines(datapoints) if known else None
        done = lines([d for i, d in enumerate(datapoints) if i in pair.done]) if known else 0
        if pair.done:
            print(f"resuming {label}: {len(pair.done)} of {len(datapoints)} datapoints done before", file=sys.stderr)
        # a bar only on a terminal (an explicit disable= would override TQDM_DISABLE, which the CLI sets off
        # one); off a terminal, one plain line per pair when it starts and when it ends
        bar_shown = progress and on_terminal(sys.stderr)
        if not bar_shown:
            print(f"{label}: {len(todo)} datapoints" + (f", {total - done} lines" if total is not None else ""),
                  file=sys.stderr, flush=True)
        began = time.perf_counter()
        with tqdm(total=total, initial=done, desc=label, unit="line", file=sys.stderr, dynamic_ncols=True,
                  disable=not bar_shown) as bar:
            start = time.perf_counter()
            for result in evaluate_files(model, tokenizer, composer, todo, settings):
                pair.add(attrs.evolve(result, seconds=round(time.perf_counter() - start, 3)))
                bar.update(len(result.scores))
                start = time.perf_counter()
        if not bar_shown:
            print(f"{label}: done in {time.perf_counter() - began:.0f} s{decode_summary(pair.done.values())}",
                  file=sys.stderr, flush=True)
    return [pair.done[i] for i in sorted(pair.done)]


def total_decoding(files: Any) -> dict[str, float]:
    """The generation-time counters (`LineCompleter.stats`) of ``files`` summed ({} in teacher-forced mode)."""
    total: dict[str, float] = {}
    for f in files:
        for key, value in f.decoding.items():
            total[key] = round(total.get(key, 0) + value, 4)
    return total


def decode_summary(files: Any) -> str:
    """'' or ', N decode steps of M ms' for generation-mode results: what a slow pair spent its time on."""
    total = total_decoding(files)
    steps, seconds = total.get("decode_steps", 0), total.get("decode_s", 0.0)
    return f", {steps:.0f} decode steps of {1000 * seconds / steps:.1f} ms" if steps and seconds else ""


def started_at() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
