"""Scoring one model with one composer over datapoints: compose, pick the scored lines, predict, score."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


def evaluate_model(
    model: Any,
    tokenizer: Any,
    composer: Any,
    datapoints: Iterable[dict],
    settings: Settings,
    *,
    on_lines: Callable[[int], None] = lambda n: None,
) -> tuple[list[LineScore], list[Prediction]]:
    """Score every selected line of every datapoint; ``on_lines(n)`` is called as lines finish (progress)."""
    if settings.mode == "teacher-forced":
        return _teacher_forced(model, tokenizer, composer, datapoints, settings, on_lines), []
    from lca_core.evaluation.generate import LineCompleter

    completer = LineCompleter(
        model=model, tokenizer=tokenizer, max_seq_len=settings.max_seq_len, max_new_tokens=settings.max_new_tokens,
        min_new_tokens=settings.min_new_tokens, batch_size=settings.batch_size, prefix_reuse=settings.prefix_reuse,
    )
    scores, predictions = [], []
    for index, datapoint in enumerate(datapoints):
        composed = composer.compose(datapoint)
        targets = scored_lines(composed, settings.categories, index=index)
        if not targets:
            continue
        completion = composed["composed_completion"]
        unique = sorted({line for line, _ in targets})  # a line in two categories is generated once
        predicted = dict(zip(unique, completer.complete(full_context(composed), completion, unique)))
        file_lines = completion.split("\n")
        for line, category in targets:
            scores.append(score_line(predicted[line], file_lines[line], file=index, line=line, category=category))
            predictions.append(Prediction(index, line, category, file_lines[line], predicted[line]))
        on_lines(len(targets))
    return scores, predictions


def _teacher_forced(model, tokenizer, composer, datapoints, settings, on_lines) -> list[LineScore]:
    import torch

    from lca_core.data.schema import CATEGORY_NAMES
    from lca_core.evaluation.teacher_forced import encode_file, line_outcomes
    from lca_core.models.vocabulary import newline_token_mask

    device = next(model.parameters()).device
    newline = newline_token_mask(tokenizer, model.get_output_embeddings().weight.shape[0])
    scores = []
    for index, datapoint in enumerate(datapoints):
        composed = composer.compose(datapoint)
        targets = scored_lines(composed, settings.categories, index=index)
        if not targets:
            continue
        inputs, target_ids, categories = encode_file(
            tokenizer, full_context(composed), composed["composed_completion"], dict(targets), settings.max_seq_len
        )
        # Logits only from the first labelled position on: a 16k x 32k fp32 logit matrix is 2 GB.
        first = next((i for i, c in enumerate(categories) if c >= 0), len(categories))
        if first == len(categories):
            continue
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([inputs], device=device), use_cache=False,
                           logits_to_keep=len(inputs) - first).logits
        outcomes = line_outcomes(logits, torch.tensor([target_ids[first:]]), torch.tensor([categories[first:]]),
                                 newline, settings.min_new_tokens)
        for outcome in outcomes:
            scores.append(LineScore(file=index, line=outcome.line, category=CATEGORY_NAMES[outcome.category],
                                    exact_match=100.0 * outcome.matched))
        on_lines(len(targets))
    return scores
