"""The paper's claims as data, and the tie rule that judges them.

Tie rule: A beats B on a metric only if their means differ by more than the sum of their
standard deviations over seeds (the mean ± sd intervals do not overlap); otherwise it is
a tie. With few seeds this is deliberately conservative.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from gendistiller.reproduce.plan import BASELINE, DEFAULT

FIDELITY = "fidelity"  # mean free-running cosine over target layers (higher is better)
WIN, TIE, LOSS = "win", "tie", "loss"

# What a claim asserts of A against B over its metrics:
BEATS = "beats"  # held when A wins a majority of them
NO_WORSE = "no worse"  # "at least as good": held when A loses none
# Which metrics a claim is judged on:
PROBES, FIDELITY_ONLY, ALL = "probes", "fidelity", "all"  # all = every probe and fidelity


@dataclass
class Stat:
    mean: float
    sd: float
    n: int
    lower_is_better: bool = False

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.sd:.2f}"


def stat(values: Sequence[float], lower_is_better: bool = False) -> Stat:
    values = list(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stat(statistics.fmean(values), sd, len(values), lower_is_better)


def compare(a: Stat, b: Stat) -> str:
    """``a`` against ``b``: win, tie (difference within the spread) or loss."""
    diff = a.mean - b.mean
    if abs(diff) <= a.sd + b.sd:
        return TIE
    better = diff < 0 if a.lower_is_better else diff > 0
    return WIN if better else LOSS


class Claim(NamedTuple):
    text: str
    a: str
    b: str
    metrics: str  # PROBES, FIDELITY_ONLY or ALL
    kind: str = BEATS  # BEATS or NO_WORSE

    def metric_names(self, tasks: Sequence[str]) -> list[str]:
        return {PROBES: list(tasks), FIDELITY_ONLY: [FIDELITY], ALL: [*tasks, FIDELITY]}[
            self.metrics
        ]


# from the paper, or ours where the paper implies it
CLAIMS: tuple[Claim, ...] = (
    Claim("GenDistiller beats the non-autoregressive baseline on most tasks", DEFAULT, BASELINE, PROBES),
    Claim("autoregressive generation reproduces the teacher's layers better than parallel heads", DEFAULT, BASELINE, FIDELITY_ONLY),
    Claim("the skip connection matters", DEFAULT, "no-skip", ALL),
    Claim("the output projection matters", DEFAULT, "no-outproj", ALL),
    Claim("previous-layer history (v2) is at least as good as all-layer history (v1)", DEFAULT, "gendistiller-v1", ALL, NO_WORSE),
    Claim("mixing in teacher forcing beats pure free running", DEFAULT, "free-running", ALL),
    Claim("mixing in teacher forcing beats pure teacher forcing", DEFAULT, "teacher-forced", ALL),
    Claim("one shared block is at least as good as one block per step", DEFAULT, "per-step-weights", ALL, NO_WORSE),
    Claim("initialising GenDistiller from the teacher helps", DEFAULT, "gendistiller-random-init", ALL),
    Claim("initialising DistilHuBERT from the teacher helps", BASELINE, "distilhubert-random-init", ALL),
)  # fmt: skip


def judge(
    claim: str,
    a: Mapping[str, Stat],
    b: Mapping[str, Stat],
    metrics: Sequence[str],
    kind: str = BEATS,
) -> dict[str, Any]:
    """The verdict on ``claim`` (of ``kind`` BEATS or NO_WORSE) over ``metrics``."""
    if kind not in (BEATS, NO_WORSE):
        raise ValueError(f"claim kind: unknown {kind!r}; choose {BEATS!r} or {NO_WORSE!r}")
    outcomes = {m: compare(a[m], b[m]) for m in metrics if m in a and m in b}
    counts = {k: sum(v == k for v in outcomes.values()) for k in (WIN, TIE, LOSS)}
    n = len(outcomes)
    if not n:
        verdict = "not measured"
    elif kind == NO_WORSE:
        verdict = (
            "held" if counts[LOSS] == 0 else ("not held" if counts[LOSS] > counts[WIN] else "mixed")
        )
    elif counts[WIN] > n / 2:
        verdict = "held"
    elif counts[LOSS] > n / 2:
        verdict = "reversed"
    elif counts[WIN] > counts[LOSS]:
        verdict = "leaning (more wins than losses, not a majority)"
    else:
        verdict = "not shown (ties or mixed)"
    return {"claim": claim, "outcomes": outcomes, "counts": counts, "verdict": verdict}
