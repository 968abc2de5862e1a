"""Teacher-forced line exact match: one forward pass per file scores every labelled line at once.

A line, in token space, runs up to and including the next target token whose text contains a
newline. It matches when the argmax at every one of its positions is the target token. As in the
original, the first ``min_tokens - 1`` positions of a line get a second chance: a newline may not
end a line that early in generation, so there the argmax is taken with newline tokens banned (unless
the target itself is a newline). A line's category is that of its first labelled token.

With ``token_stats`` each line also gets its mean token cross-entropy (nats) and the share of its
tokens whose target is the model's first choice (top-1) or among its first five (top-5), from the
plain logits (no newline ban): finer-grained than exact match, they show a composer's effect long
before whole lines come out right.

`teacher_forced_exact_match` works on the logits and tensors of a preprocessed batch, so the trainer
can call it during validation without a second forward pass.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs

from lca_core.data.schema import CATEGORY_IDS, CATEGORY_NAMES


@attrs.frozen
class LineOutcome:
    """One teacher-forced line: batch row, its index among the row's token lines, category id, matched;
    with token statistics its mean cross-entropy (nats per token) and top-1 / top-5 token accuracy (0-1)."""

    row: int
    line: int
    category: int
    matched: bool
    cross_entropy: float | None = None
    top1: float | None = None
    top5: float | None = None


#: positions per chunk when computing token statistics: a 16k x 49k fp32 slice would be 3 GB
STATS_CHUNK = 2048


def token_statistics(logits: Any, target_ids: Any) -> tuple[Any, Any]:
    """(cross-entropy, rank of the target) at every position (B×L each); rank 0 = the argmax."""
    import torch

    losses, ranks = [], []
    for start in range(0, logits.shape[1], STATS_CHUNK):
        chunk = logits[:, start:start + STATS_CHUNK].float()
        target = target_ids[:, start:start + STATS_CHUNK].clamp(min=0, max=chunk.shape[-1] - 1)
        picked = chunk.gather(-1, target[..., None])
        losses.append(torch.logsumexp(chunk, -1) - picked[..., 0])
        ranks.append((chunk > picked).sum(-1))
    return torch.cat(losses, 1), torch.cat(ranks, 1)


def line_outcomes(logits: Any, target_ids: Any, category_ids: Any, newline_mask: Any, min_tokens: int = 3,
                  *, token_stats: bool = False) -> list[LineOutcome]:
    """Score every labelled token line of a batch (logits B×L×V aligned with target_ids B×L)."""
    import torch

    newline_mask = newline_mask.to(logits.device)
    target_ids = target_ids.to(logits.device)
    vocab = min(logits.shape[-1], newline_mask.shape[0])
    is_newline = newline_mask[target_ids.clamp(0, vocab - 1)] & (target_ids >= 0)
    plain = logits.argmax(-1)
    banned = logits[..., :vocab].masked_fill(newline_mask[:vocab], float("-inf")).argmax(-1)
    length = target_ids.shape[1]
    index = torch.arange(length, device=logits.device).expand_as(target_ids)
    starts_line = torch.zeros_like(is_newline)
    starts_line[:, 1:] = is_newline[:, :-1]
    starts_line[:, 0] = True
    line_start = torch.where(starts_line, index, torch.zeros_like(index)).cummax(1).values
    early = (index - line_start) < (min_tokens - 1)
    prediction = torch.where(early & ~is_newline, banned, plain)
    correct = (prediction == target_ids).cpu()
    line_of = (starts_line.long().cumsum(1) - 1).cpu()
    categories = category_ids.cpu()
    if token_stats:
        loss, rank = (t.cpu() for t in token_statistics(logits, target_ids))
    else:
        loss = rank = torch.zeros_like(correct, dtype=torch.float)

    outcomes: list[LineOutcome] = []
    for row in range(target_ids.shape[0]):
        state: dict[int, list] = {}  # line -> [category, all correct, tokens, loss sum, top-1, top-5]
        for line, category, ok, ce, r in zip(line_of[row].tolist(), categories[row].tolist(), correct[row].tolist(),
                                             loss[row].tolist(), rank[row].tolist()):
            entry = state.setdefault(line, [-1, True, 0, 0.0, 0, 0])
            if entry[0] < 0 and category >= 0:
                entry[0] = category
            entry[1] = entry[1] and ok
            entry[2:] = [entry[2] + 1, entry[3] + ce, entry[4] + (r < 1), entry[5] + (r < 5)]
        for line, (c, ok, n, ce, top1, top5) in state.items():
            if c < 0:
                continue
            stats = {"cross_entropy": ce / n, "top1": top1 / n, "top5": top5 / n} if token_stats else {}
            outcomes.append(LineOutcome(row, line, c, bool(ok), **stats))
    return outcomes


def teacher_forced_exact_match(
    logits: Any, target_ids: Any, category_ids: Any, newline_mask: Any, min_tokens: int = 3
) -> dict[str, dict[str, float]]:
    """Per-category teacher-forced exact match of a batch, micro-averaged over lines, for training validation.

    Returns ``{category: {"exact_match": percent, "lines": n}}``; build ``newline_mask`` once with
    `lca_core.models.vocabulary.newline_token_mask(tokenizer, vocab_size)`.
    """
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in line_outcomes(logits, target_ids, category_ids, newline_mask, min_tokens):
        counts[outcome.category][0] += outcome.matched
        counts[outcome.category][1] += 1
    return {
        CATEGORY_NAMES.get(c, str(c)): {"exact_match": 100.0 * hits / n, "lines": n}
        for c, (hits, n) in sorted(counts.items())
    }


@attrs.frozen
class EncodedFile:
    """One teacher-forced pass: input ids, target ids, category ids (-1 = not scored), context tokens kept."""

    inputs: list[int]
    targets: list[int]
    categories: list[int]
    context_tokens: int


def encode_file(
    tokenizer: Any, context: str, completion: str, line_categories: dict[int, str], max_seq_len: int
) -> list[EncodedFile]:
    """Context + completion for teacher forcing: one pass, or several windows for a file longer than the window.

    The completion is kept up to the end of its last scored line (later tokens cannot change a
    causal model's view of earlier ones, so they would only take the context's room), whole where it
    fits; the context is cut from the left, keeping a BOS. A token takes the category of the
    completion line its first character is on. The completion is tokenized whole, then cut, so
    every token is the one the full file has.

    When the completion up to its last scored line is longer than the window, it is read in windows of
    the window's size (no room for context), each starting half a window after the previous one, and
    each scored line is scored in the first window that holds it whole: after at least half a window of
    the file where the file has that much. A line longer than the window is not scored.
    """
    from lca_core.evaluation.generate import encode_context, tail

    ctx, head = encode_context(tokenizer, context, max_seq_len)
    encoded = tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
    line_starts = [0] + [i + 1 for i, ch in enumerate(completion) if ch == "\n"]
    last = max(line_categories, default=len(line_starts) - 1)
    end = line_starts[last + 1] if last + 1 < len(line_starts) else len(completion) + 1
    kept = sum(1 for start, _ in encoded.offset_mapping if start < end)  # the tokens that start on a scored line or before
    completion_ids = encoded.input_ids[:kept]
    token_lines = []
    line = 0
    for start, _ in encoded.offset_mapping[:kept]:
        while line + 1 < len(line_starts) and line_starts[line + 1] <= start:
            line += 1
        token_lines.append(line)
    categories = [CATEGORY_IDS[line_categories[n]] if n in line_categories else -1 for n in token_lines]
    room = max_seq_len + 1 - head  # completion tokens one pass holds
    if len(completion_ids) <= room:
        ctx = ctx[:head] + tail(ctx[head:], room - len(completion_ids))
        return [_pass(ctx, head, completion_ids, categories)]
    return _windows(ctx[:head], completion_ids, categories, token_lines, room)


def _pass(ctx: list[int], head: int, completion_ids: list[int], categories: list[int]) -> EncodedFile:
    ids = ctx + completion_ids
    # position t predicts token t+1; the first completion token needs one token in front of it
    category_row = [-1] * (len(ctx) - 1) + categories if ctx else categories[1:]
    return EncodedFile(ids[:-1], ids[1:], category_row, len(ctx) - head)


def _windows(bos: list[int], ids: list[int], categories: list[int], token_lines: list[int],
             room: int) -> list[EncodedFile]:
    """Half-overlapping windows of ``room`` completion tokens (behind the BOS, if any); each scored line in
    the first window whose targets hold all of its tokens."""
    stride = max(1, room // 2)
    starts = list(range(0, len(ids) - room, stride)) + [len(ids) - room]
    first_target = 1 - len(bos)  # without a BOS a window's first token is input only
    spans: dict[int, list[int]] = {}
    for t, (line, category) in enumerate(zip(token_lines, categories)):
        if category >= 0:
            spans.setdefault(line, [t, t])[1] = t
    assigned: dict[int, set[int]] = {s: set() for s in starts}
    for line, (first, last) in spans.items():
        window = next((s for s in starts if s + first_target <= first and last < s + room), None)
        if window is not None:  # else: a line longer than the window
            assigned[window].add(line)
    passes = []
    for s in starts:
        if assigned[s]:
            kept = [c if token_lines[t] in assigned[s] else -1 for t, c in enumerate(categories[s:s + room], s)]
            passes.append(_pass(bos, len(bos), ids[s:s + room], kept))
    return passes
