"""How a training run shows its progress: a bar on a terminal, plain log lines everywhere else.

Output to a file, ``nohup`` or a batch scheduler gets one line every N steps (``--log-every N``) or,
by default, about every 30 s of wall time — plus the first and the last step and every validation::

    step 12/60 (20%)  loss 6.1234  lr 2.40e-03  4,321 tok/s  elapsed 0:00:24  ETA 0:01:36
    valid step 15: cross_entropy 5.8123

``--no-progress`` asks for the lines on a terminal too. Other processes of a distributed run show
nothing. This module imports nothing heavy (the CLI's option parsing uses `parse_every`).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any, Callable, TextIO

import attrs


@attrs.frozen
class Every:
    """A log line every ``steps`` steps, or every ``seconds`` of wall time; ``text`` as given."""

    steps: int = 0
    seconds: float = 0.0
    text: str = ""


DEFAULT_EVERY = Every(seconds=30.0, text="30s")


def parse_every(text: str) -> Every:
    """``"10"`` → every 10 steps; ``"45s"`` → every 45 seconds (the ``--log-every`` option)."""
    raw = text.strip().lower()
    try:
        if raw.endswith("s"):
            seconds = float(raw[:-1])
            if seconds > 0 and math.isfinite(seconds):
                return Every(seconds=seconds, text=text)
        elif int(raw) > 0:
            return Every(steps=int(raw), text=text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"'{text}' is neither a positive number of steps (10) nor of seconds (30s)")


@attrs.frozen
class ProgressSettings:
    """``bar``: a progress bar when output is a terminal (else log lines); ``every``: the log-line rhythm."""

    bar: bool = True
    every: Every | None = None


def on_terminal(*streams: TextIO) -> bool:
    """Whether every stream is an interactive terminal (a bar on a file or pipe is noise)."""
    streams = streams or (sys.stdout, sys.stderr)
    return all(getattr(stream, "isatty", lambda: False)() for stream in streams)


def make_progress(settings: ProgressSettings | bool, *, total: int, initial: int, main: bool = True) -> Any:
    """The progress display of one process: a `ProgressBar`, `ProgressLines`, or `NoProgress` (other ranks)."""
    if isinstance(settings, bool):
        settings = ProgressSettings(bar=settings)
    if not main:
        return NoProgress()
    if settings.bar and on_terminal():
        return ProgressBar(total=total, initial=initial)
    return ProgressLines(total=total, initial=initial, every=settings.every or DEFAULT_EVERY)


class NoProgress:
    """Shows nothing (processes other than rank 0)."""

    def update(self, iteration: int, metrics: dict[str, float]) -> None:
        pass

    def validated(self, iteration: int, metrics: dict[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


class ProgressBar(NoProgress):
    """A tqdm bar with loss, learning rate and tokens/s (on a terminal only)."""

    def __init__(self, *, total: int, initial: int):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True)

    def update(self, iteration: int, metrics: dict[str, float]) -> None:
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{metrics['cross_entropy']:.4f}", lr=f"{metrics['learning_rate']:.2e}",
                             tok_s=f"{metrics['tokens_per_second']:.0f}")

    def close(self) -> None:
        self.bar.close()


class ProgressLines(NoProgress):
    """Plain lines on stdout: step, loss, learning rate, tokens/s over the interval, elapsed time and ETA.

    A closed stdout (``lca-run RUN.toml | head``) stops the lines, never the run.
    """

    def __init__(self, *, total: int, initial: int, every: Every = DEFAULT_EVERY, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.initial, self.every = total, initial, every
        self.stream, self.clock = stream, clock
        self.started = self.last_time = clock()
        self.last_tokens: float | None = None
        self.step_tokens = self.step_seconds = 0.0  # since the last line: for the interval's tokens/s
        self.lines = 0

    def update(self, iteration: int, metrics: dict[str, float]) -> None:
        tokens, rate = metrics.get("tokens", math.nan), metrics.get("tokens_per_second", math.nan)
        if self.last_tokens is not None and rate > 0 and math.isfinite(tokens):
            step = tokens - self.last_tokens
            self.step_tokens += step
            self.step_seconds += step / rate
        elif rate > 0:
            self.step_tokens, self.step_seconds = rate, 1.0  # first step: its own rate
        self.last_tokens = tokens
        now = self.clock()
        due = (self.lines == 0 or iteration >= self.total
               or (self.every.steps and iteration % self.every.steps == 0)
               or (self.every.seconds and now - self.last_time >= self.every.seconds))
        if not due:
            return
        elapsed = now - self.started
        done = iteration - self.initial
        eta = elapsed / done * (self.total - iteration) if done > 0 else math.nan
        tok_s = self.step_tokens / self.step_seconds if self.step_seconds > 0 else math.nan
        self._write(f"step {iteration}/{self.total} ({100 * iteration / max(1, self.total):.0f}%)  "
                    f"loss {metrics.get('cross_entropy', math.nan):.4f}  lr {metrics.get('learning_rate', math.nan):.2e}  "
                    f"{tok_s:,.0f} tok/s  elapsed {_clock(elapsed)}  ETA {_clock(eta)}")
        self.last_time, self.step_tokens, self.step_seconds = now, 0.0, 0.0

    def validated(self, iteration: int, metrics: dict[str, float]) -> None:
        if "cross_entropy" in metrics:
            self._write(f"valid step {iteration}: cross_entropy {metrics['cross_entropy']:.4f}")

    def _write(self, line: str) -> None:
        stream = self.stream or sys.stdout
        if stream is None:
            return
        try:
            print(line, file=stream, flush=True)
            self.lines += 1
        except (BrokenPipeError, ValueError):  # the reader went away: keep training, stop talking
            self.stream = _Closed()


class _Closed:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
