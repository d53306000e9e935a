"""The one timer: medians, spread, rotation, threads restored and ratios, on a fake clock."""

from __future__ import annotations

import pytest
import torch

from gendistiller.measure import Timing, forward, ratios, time_calls, torch_threads


class FakeClock:
    """Time advances only when a timed call says how long it took."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_median_spread_and_ratio_from_a_fake_clock():
    clock = FakeClock()
    durations = {"a": iter([9.0, 0.010, 0.030, 0.020]), "b": iter([9.0, 0.040, 0.041, 0.100])}
    order = []

    def call(name):
        def run():
            order.append(name)
            clock.now += next(durations[name])

        return run

    timed = time_calls({"a": call("a"), "b": call("b")}, repeats=3, warmup=1, clock=clock)
    # the warm-up (9 s) is not timed; runs in the order they ran, in ms
    assert timed["a"].runs_ms == (10.0, 30.0, 20.0) and timed["b"].runs_ms == (40.0, 41.0, 100.0)
    assert timed["a"].median_ms == 20.0 and timed["b"].median_ms == 41.0
    assert timed["a"].spread_ms == 20.0 and timed["b"].min_ms == 40.0 and timed["b"].max_ms == 100.0
    assert ratios(timed, "a") == {"a": 1.0, "b": 2.05}
    # warm-up a b, then rounds in rotating order: a b, b a, a b
    assert order == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert set(timed["a"].to_dict()) == {"median_ms", "min_ms", "max_ms", "spread_ms", "runs_ms"}


def test_settle_calls_come_right_before_each_timed_call_and_are_not_timed():
    clock = FakeClock()
    order = []

    def call(name, seconds):
        def run():
            order.append(name)
            clock.now += seconds

        return run

    timed = time_calls({"a": call("a", 0.5), "b": call("b", 0.25)}, repeats=2, warmup=0,
                       settle=2, clock=clock)  # fmt: skip
    assert timed["a"].runs_ms == (500.0, 500.0) and timed["b"].runs_ms == (250.0, 250.0)
    # each timed call is the third of three in a row of its own model
    assert order == ["a"] * 3 + ["b"] * 3 + ["b"] * 3 + ["a"] * 3
    with pytest.raises(ValueError, match="settle"):
        time_calls({"a": call("a", 0.1)}, settle=-1)


def test_even_count_median_is_the_midpoint():
    assert Timing((1.0, 2.0, 4.0, 10.0)).median_ms == 3.0


def test_threads_are_set_for_the_run_and_restored():
    before = torch.get_num_threads()
    seen = []
    time_calls({"x": lambda: seen.append(torch.get_num_threads())}, repeats=2, threads=1)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError
    assert torch.get_num_threads() == before


def test_calls_run_without_grad_and_forward_passes_lengths():
    got = []

    def model(waveforms, lengths):
        got.append((torch.is_grad_enabled(), lengths))
        return None

    lengths = torch.tensor([3])
    time_calls({"m": forward(model, torch.zeros(1, 3), lengths)}, repeats=1, warmup=0)
    assert got == [(False, lengths)]


def test_repeats_must_be_positive():
    with pytest.raises(ValueError, match="repeats"):
        time_calls({"x": lambda: None}, repeats=0)
