"""Progress lines off a terminal: the rhythm (first step, every N steps or S seconds, last step) and the figures."""

from __future__ import annotations

import argparse
import io

import pytest

from lca_core.training.progress import DEFAULT_EVERY, Every, ProgressLines, parse_every


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def metrics(step: int, rate: float = 1000.0) -> dict[str, float]:
    return {"cross_entropy": 5.0 - step / 100, "learning_rate": 1e-3, "tokens_per_second": rate,
            "tokens": 512.0 * step}


def run(every: Every, steps: int, seconds_per_step: float) -> list[str]:
    clock, out = Clock(), io.StringIO()
    lines = ProgressLines(total=steps, initial=0, every=every, stream=out, clock=clock)
    for step in range(1, steps + 1):
        clock.now += seconds_per_step
        lines.update(step, metrics(step))
    return out.getvalue().splitlines()


def test_default_is_about_every_30_seconds_plus_the_first_and_last_step():
    printed = run(DEFAULT_EVERY, steps=100, seconds_per_step=7.0)
    steps = [int(line.split()[1].split("/")[0]) for line in printed]
    assert steps == [1, *range(6, 100, 5), 100]  # 5 steps × 7 s is the first interval ≥ 30 s


def test_every_n_steps_and_the_figures_of_a_line():
    printed = run(Every(steps=25, text="25"), steps=60, seconds_per_step=2.0)
    assert [line.split()[1] for line in printed] == ["1/60", "25/60", "50/60", "60/60"]
    assert printed[1] == ("step 25/60 (42%)  loss 4.7500  lr 1.00e-03  1,000 tok/s  elapsed 0:00:50  "
                          "ETA 0:01:10")
    assert printed[-1].endswith("ETA 0:00:00")


def test_a_resumed_run_counts_its_eta_from_where_it_resumed():
    clock, out = Clock(), io.StringIO()
    lines = ProgressLines(total=100, initial=90, every=Every(steps=5, text="5"), stream=out, clock=clock)
    for step in range(91, 96):
        clock.now += 3.0
        lines.update(step, metrics(step))
    assert out.getvalue().splitlines()[-1].endswith("elapsed 0:00:15  ETA 0:00:15")


def test_a_closed_stream_stops_the_lines_not_the_run():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    lines = ProgressLines(total=3, initial=0, stream=Closed())
    for step in (1, 2, 3):
        lines.update(step, metrics(step))  # no exception
    lines.validated(3, {"cross_entropy": 1.0})


@pytest.mark.parametrize("text, expected", [("10", Every(steps=10, text="10")), ("45s", Every(seconds=45.0, text="45s"))])
def test_log_every_accepts_steps_or_seconds(text, expected):
    assert parse_every(text) == expected


@pytest.mark.parametrize("text", ["0", "-3", "soon", "0s", "nans", "1.5"])
def test_log_every_refuses_the_rest(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_every(text)
