"""The one timer: warm-up, then the median of ``repeats`` timed calls, with the spread.

Every latency the project reports (``gendistiller benchmark``, ``gendistiller evaluate``,
the export's int8 speed-up, the reproduction's timing table) comes from
:func:`time_calls`. The calls take turns, round-robin in rotating order, so a burst of
load from elsewhere on a shared machine hits every model alike; ratios are therefore
only meaningful between timings of one :func:`time_calls` run, which :func:`ratios`
takes. The median resists the odd disturbed call; min and max are kept as the spread.
With ``settle``, each timed call comes right after untimed calls of the same model, so
what the previous model left behind (onnxruntime's or OpenMP's worker threads still
spinning after its call, its data in the caches) slows those, not the timed one: on a
machine with few cores that matters for small models timed after large ones.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Timing:
    """Milliseconds of each timed call, in the order they ran."""

    runs_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return round(statistics.median(self.runs_ms), 3)

    @property
    def min_ms(self) -> float:
        return min(self.runs_ms)

    @property
    def max_ms(self) -> float:
        return max(self.runs_ms)

    @property
    def spread_ms(self) -> float:
        return round(self.max_ms - self.min_ms, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_ms": self.median_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "spread_ms": self.spread_ms,
            "runs_ms": list(self.runs_ms),
        }


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run with ``threads`` torch intra-op threads (None or 0: leave as is); restored after."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def forward(model: Callable[..., Any], waveforms: Any, lengths: Any = None) -> Callable[[], Any]:
    """One forward pass of any encoder (PyTorch module or ONNX session wrapper) as a call."""
    return lambda: model(waveforms, lengths)


def time_calls(
    calls: Mapping[K, Callable[[], Any]],
    *,
    repeats: int = 5,
    warmup: int = 1,
    settle: int = 0,
    threads: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[K, Timing]:
    """Time every call ``repeats`` times after ``warmup`` untimed rounds (allocator, kernel
    selection, lazy inits), each timed call after ``settle`` untimed calls of its own,
    under ``no_grad`` with ``threads`` torch threads."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if settle < 0:
        raise ValueError(f"settle must be at least 0, got {settle}")
    names = list(calls)
    runs: dict[K, list[float]] = {name: [] for name in names}
    with torch_threads(threads), torch.no_grad():
        for _ in range(warmup):
            for name in names:
                calls[name]()
        for r in range(repeats):
            k = r % len(names) if names else 0
            for name in names[k:] + names[:k]:
                for _ in range(settle):
                    calls[name]()
                start = clock()
                calls[name]()
                runs[name].append(round(1000 * (clock() - start), 3))
    return {name: Timing(tuple(runs[name])) for name in names}


def ratios(timings: Mapping[K, Timing], baseline: K) -> dict[K, float]:
    """Each timing's median over the baseline's median (timings of one run only)."""
    base = timings[baseline].median_ms
    return {name: round(t.median_ms / base, 4) for name, t in timings.items()}
