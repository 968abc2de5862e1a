"""Scoring one model with one composer over datapoints: compose, pick the scored lines, predict, score."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from lca_core.api.errors import RunError
from lca_core.data.schema import CATEGORIES
from lca_core.evaluation.metrics import LineScore, score_line

#: the categories papers report (LCA leaderboard, lca-solvers' evaluation script)
DEFAULT_CATEGORIES = ("inproject", "infile")
ALL_CATEGORIES = DEFAULT_CATEGORIES + tuple(c for c in CATEGORIES if c not in DEFAULT_CATEGORIES)
MODES = ("generation", "teacher-forced")


@attrs.frozen
class Settings:
    """What decides the numbers besides the model and the composer; written next to them in the JSON file."""

    mode: str = "generation"
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    max_seq_len: int = 16384
    max_new_tokens: int = 100
    min_new_tokens: int = 3
    batch_size: int = 0  # 0: chosen from free GPU memory (LineCompleter)
    prefix_reuse: bool = True


@attrs.frozen
class Prediction:
    """One generated line, for the predictions file (what was asked, what came out)."""

    file: int
    line: int
    category: str
    target: str
    prediction: str


def scored_lines(composed: dict, categories: Sequence[str], *, index: int) -> list[tuple[int, str]]:
    """(line index into composed_completion, category) of every line to score, in file order."""
    lines = composed.get("completion_lines")
    if not isinstance(lines, dict):
        raise RunError(f"datapoint {index}: the composer returned no 'completion_lines' dict")
    n_lines = composed["composed_completion"].count("\n") + 1
    out = []
    for category in categories:
        for line in lines.get(category, []):
            if not 0 <= int(line) < n_lines:
                raise RunError(f"datapoint {index}: {category} line {line} is outside the composed completion "
                               f"({n_lines} lines); the composer's line shift is wrong")
            out.append((int(line), category))
    return sorted(out)


def full_context(composed: dict) -> str:
    """The text in front of the completion file: the pre-context prompt and the composed context."""
    return composed.get("pre_context_prompt", "") + composed["composed_context"]


@attrs.frozen
class FileResult:
    """What one datapoint gave: its scored lines, their predictions (generation mode) and how many
    context tokens (pre-context prompt + composed context, after cutting to the window) the model saw."""

    file: int
    context_tokens: int | None  # None: no line of this file was scored
    scores: list[LineScore]
    predictions: list[Prediction]
    seconds: float = 0.0
    #: generation mode: where this file's time went (`LineCompleter.stats` counters for this file)
    decoding: dict = attrs.field(factory=dict)


def context_length(ids: list[int], tokenizer: Any) -> int:
    """Context tokens in ``ids`` without the BOS the prompt starts with."""
    return len(ids) - (1 if ids and ids[0] == tokenizer.bos_token_id else 0)


def evaluate_files(
    model: Any, tokenizer: Any, composer: Any, datapoints: Iterable[tuple[int, dict]], settings: Settings
) -> Iterator[FileResult]:
    """Score the selected lines of each ``(index, datapoint)``, one file at a time; a file with no such line
    gives a result without scores."""
    score_file = _teacher_forced_scorer(model, tokenizer, settings) if settings.mode == "teacher-forced" else \
        _generation_scorer(model, tokenizer, settings)
    for index, datapoint in datapoints:
        composed = composer.compose(datapoint)
        targets = scored_lines(composed, settings.categories, index=index)
        result = score_file(index, composed, targets) if targets else None
        yield result if result is not None else FileResult(index, None, [], [])


def evaluate_model(model: Any, tokenizer: Any, composer: Any, datapoints: Iterable[dict], settings: Settings,
                   ) -> tuple[list[LineScore], list[Prediction]]:
    """Every scored line and prediction of ``datapoints`` (numbered from 0)."""
    scores: list[LineScore] = []
    predictions: list[Prediction] = []
    for result in evaluate_files(model, tokenizer, composer, enumerate(datapoints), settings):
        scores += result.scores
        predictions += result.predictions
    return scores, predictions


def _generation_scorer(model, tokenizer, settings) -> Callable[[int, dict, list], FileResult]:
    from lca_core.evaluation.generate import LineCompleter

    completer = LineCompleter(
        model=model, tokenizer=tokenizer, max_seq_len=settings.max_seq_len, max_new_tokens=settings.max_new_tokens,
        min_new_tokens=settings.min_new_tokens, batch_size=settings.batch_size, prefix_reuse=settings.prefix_reuse,
    )

    def score(index: int, composed: dict, targets: list[tuple[int, str]]) -> FileResult:
        completion = composed["composed_completion"]
        unique = sorted({line for line, _ in targets})  # a line in two categories is generated once
        ctx, prefixes = completer.encode(full_context(composed), completion, unique)
        before = dict(completer.stats)
        predicted = dict(zip(unique, completer.complete_ids(ctx, prefixes)))
        decoding = {k: round(v - before[k], 4) for k, v in completer.stats.items()}
        file_lines = completion.split("\n")
        scores = [score_line(predicted[line], file_lines[line], file=index, line=line, category=category)
                  for line, category in targets]
        predictions = [Prediction(index, line, category, file_lines[line], predicted[line])
                       for line, category in targets]
        return FileResult(index, context_length(ctx, tokenizer), scores, predictions, decoding=decoding)

    return score


def _teacher_forced_scorer(model, tokenizer, settings) -> Callable[[int, dict, list], FileResult | None]:
    import torch

    from lca_core.data.schema import CATEGORY_NAMES
    from lca_core.evaluation.teacher_forced import encode_file, line_outcomes
    from lca_core.models.vocabulary import newline_token_mask

    device = next(model.parameters()).device
    newline = newline_token_mask(tokenizer, model.get_output_embeddings().weight.shape[0])

    def score(index: int, composed: dict, targets: list[tuple[int, str]]) -> FileResult | None:
        windows = encode_file(tokenizer, full_context(composed), composed["composed_completion"], dict(targets),
                              settings.max_seq_len)
        scores: list[LineScore] = []
        offset = 0  # line numbers of later windows follow those of earlier ones (one file, unique lines)
        for encoded in windows:
            categories = encoded.categories
            # Logits only from the first labelled position on: a 16k x 32k fp32 logit matrix is 2 GB.
            first = next((i for i, c in enumerate(categories) if c >= 0), len(categories))
            if first == len(categories):
                continue
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([encoded.inputs], device=device), use_cache=False,
                               logits_to_keep=len(encoded.inputs) - first).logits
                outcomes = line_outcomes(logits, torch.tensor([encoded.targets[first:]]),
                                         torch.tensor([categories[first:]]), newline, settings.min_new_tokens,
                                         token_stats=True)
            scores += [LineScore(file=index, line=offset + o.line, category=CATEGORY_NAMES[o.category],
                                 exact_match=100.0 * o.matched, cross_entropy=o.cross_entropy,
                                 top1_accuracy=100.0 * o.top1, top5_accuracy=100.0 * o.top5) for o in outcomes]
            offset += len(encoded.targets)
        if not scores:
            return None
        return FileResult(index, windows[0].context_tokens, scores, [])

    return score
