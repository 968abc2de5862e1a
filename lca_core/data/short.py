"""Datapoints too small to fill a sequence: found before training when the preprocessor does not pad.

With ``[preprocessor] padding = false`` every sample must give at least ``max_seq_len + 1`` tokens; one
that does not stops training when the sampler reaches it, maybe hours in. Composing every datapoint
to find them would make ``lca-run check`` as slow as an epoch of composition, so each datapoint's raw
size bounds its tokens first (a token covers at least one UTF-8 byte, bar a few special ones and the
templates' text), and only the datapoints that bound cannot rule out are composed for real — a
datapoint is reported only when composing it does fail. A composer that drops most of a large snapshot
can still give a short sample that this misses; training then names it.
"""

from __future__ import annotations

from typing import Any

#: tokens a sample may hold beyond its files' bytes: BOS/SEP, prompts, path comments, separators
SLACK_TOKENS = 64
#: bytes of template text a composer may add per file (a path comment, a separator)
PER_FILE_BYTES = 32
SHOWN = 8


def short_datapoints(data: Any, max_seq_len: int) -> list[tuple[int, str, str]]:
    """(index, ``repo:completion file``, the error) of each datapoint of ``data`` (a dataset with the composer
    and preprocessor transform set) that gives fewer than ``max_seq_len + 1`` tokens."""
    from lca_core.api.errors import RunError

    plain = data.with_format(None).select_columns(["repo", "completion_file", "repo_snapshot"])
    suspects = []
    for index, row in enumerate(plain):
        files = [row["completion_file"]["filename"], row["completion_file"]["content"],
                 *row["repo_snapshot"]["filename"], *row["repo_snapshot"]["content"]]
        bound = sum(len(text.encode("utf-8", "surrogatepass")) for text in files) \
            + PER_FILE_BYTES * (1 + len(row["repo_snapshot"]["filename"])) + SLACK_TOKENS
        if bound < max_seq_len + 1:
            suspects.append((index, f"{row['repo']}:{row['completion_file']['filename']}"))
    found = []
    for index, name in suspects:
        try:
            data[[index]]
        except RunError as exc:
            found.append((index, name, str(exc)))
    return found


def short_message(found: list[tuple[int, str, str]], max_seq_len: int, split: str = "training") -> str:
    shown = ", ".join(f"{index} ({name})" for index, name, _ in found[:SHOWN])
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return (f"{len(found)} {split} datapoints give fewer than max_seq_len + 1 = {max_seq_len + 1} tokens and "
            f"padding is false: {shown}{more}; training would stop at the first. Set padding = true, lower "
            "max_seq_len, or drop these datapoints")
