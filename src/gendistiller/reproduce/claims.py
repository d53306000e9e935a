"""The paper's claims as data, and the rule that judges them.

Tie rule: A beats B on a metric only if the 95% interval of the paired difference
(:func:`gendistiller.evaluation.statistics.compare`: the same test items for both, the
distillation seeds resampled) excludes zero; otherwise the metric is a tie, and a tie is
reported with the minimum detectable effect (MDE) that bounds what it can hide.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from gendistiller.reproduce.variants import (
    BASELINE,
    BASELINE_HEADS,
    DEFAULT,
    EXPOSED,
    FAST,
    FAST_STAGED,
    PLUS,
    SHORT_BASELINE,
    SHORT_DEFAULT,
)

FIDELITY = "fidelity"  # mean free-running cosine over target layers (higher is better)
WIN, TIE, LOSS = "win", "tie", "loss"

# What a claim asserts of A against B over its metrics:
BEATS = "beats"  # held when A wins a majority of them (or the claim's ``wins``)
EVERY = "beats on every"  # held when A wins every one
NO_WORSE = "no worse"  # "at least as good": held when A loses none
# Which metrics a claim is judged on:
PROBES, FIDELITY_ONLY, ALL = "probes", "fidelity", "all"  # all = every probe and fidelity
LAYERS, LAST_LAYER = "layers", "last layer"  # fidelity at each / the last target layer


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


def outcome(diff: Mapping[str, Any], lower_is_better: bool) -> str:
    """A paired difference (A minus B, as :meth:`Difference.to_dict`) as A's win, tie or
    loss: a tie whenever its interval covers zero."""
    if diff["low"] <= 0.0 <= diff["high"]:
        return TIE
    return WIN if (diff["diff"] < 0) == lower_is_better else LOSS


class Claim(NamedTuple):
    text: str
    a: str
    b: str
    metrics: str  # PROBES, FIDELITY_ONLY, ALL, LAYERS or LAST_LAYER
    kind: str = BEATS  # BEATS, EVERY or NO_WORSE
    wins: int = 0  # BEATS: held when A wins at least this many metrics (0: a majority)

    def metric_names(self, tasks: Sequence[str], layers: Sequence[str] = ()) -> list[str]:
        """``layers``: the per-layer fidelity metrics (``cosine@L``), shallowest first."""
        return {PROBES: list(tasks), FIDELITY_ONLY: [FIDELITY], ALL: [*tasks, FIDELITY],
                LAYERS: list(layers), LAST_LAYER: list(layers[-1:])}[self.metrics]  # fmt: skip


class CostClaim(NamedTuple):
    """A's size or speed against B's: held when A's over B's is at most ``at_most``.

    ``parameters``: A's parameters after training against B's trained ones (with any
    training-only heads); ``time``: CPU milliseconds per second of audio."""

    text: str
    a: str
    b: str
    quantity: str  # PARAMETERS or TIME
    at_most: float


PARAMETERS, TIME = "parameters", "time"


# from the paper, or ours where the paper implies it
CLAIMS: tuple[Claim, ...] = (
    Claim("GenDistiller beats the non-autoregressive baseline on most tasks", DEFAULT, BASELINE, PROBES),
    Claim("autoregressive generation reproduces the teacher's layers better than parallel heads", DEFAULT, BASELINE, FIDELITY_ONLY),
    Claim("the skip connection matters", SHORT_DEFAULT, "no-skip", ALL),
    Claim("the output projection matters", SHORT_DEFAULT, "no-outproj", ALL),
    Claim("previous-layer history (v2) is at least as good as all-layer history (v1)", SHORT_DEFAULT, "gendistiller-v1", ALL, NO_WORSE),
    Claim("mixing in teacher forcing beats pure free running", SHORT_DEFAULT, "free-running", ALL),
    Claim("mixing in teacher forcing beats pure teacher forcing", SHORT_DEFAULT, "teacher-forced", ALL),
    Claim("one shared block is at least as good as one block per step", SHORT_DEFAULT, "per-step-weights", ALL, NO_WORSE),
    Claim("initialising GenDistiller from the teacher helps", SHORT_DEFAULT, "gendistiller-random-init", ALL),
    Claim("initialising DistilHuBERT from the teacher helps", SHORT_BASELINE, "distilhubert-random-init", ALL),
    # ours: the fast students (issue: fast students) must not lose quality
    Claim("the fast GenDistiller is at least as good as the paper's", FAST, DEFAULT, ALL, NO_WORSE),
    Claim("on the light front-end too, GenDistiller beats the baseline on most tasks", FAST, "distilhubert-fast", PROBES),
    Claim("the front-end stage improves the fast GenDistiller", FAST_STAGED, FAST, ALL),
    Claim("the fast GenDistiller after a front-end stage is at least as good as the paper's", FAST_STAGED, DEFAULT, ALL, NO_WORSE),
    # ours, beyond the paper (docs/method.md): each switch against the paper's GenDistiller
    Claim("step conditioning beats the paper's GenDistiller", "step-conditioned", SHORT_DEFAULT, ALL),
    Claim("per-step output projections beat the paper's GenDistiller", "per-step-outproj", SHORT_DEFAULT, ALL),
    Claim("scheduled sampling beats the paper's GenDistiller", "scheduled-sampling", SHORT_DEFAULT, ALL),
    Claim("a depth-weighted loss beats the paper's GenDistiller", "depth-weighted", SHORT_DEFAULT, ALL),
    Claim("noisy teacher forcing beats the paper's GenDistiller", "noisy-teacher-forcing", SHORT_DEFAULT, ALL),
    Claim("output adapters beat the paper's GenDistiller", "output-adapters", SHORT_DEFAULT, ALL),
    # ours: the combination at the headline budget, judged on the targets
    Claim("GenDistiller+ beats the baseline on fidelity at every target layer", PLUS, BASELINE, LAYERS, EVERY),
    Claim("GenDistiller+ beats the baseline on at least two probes", PLUS, BASELINE, PROBES, wins=2),
    Claim("GenDistiller+ beats the paper's GenDistiller on fidelity at the last target layer", PLUS, DEFAULT, LAST_LAYER),
    # ours: the same students, other states exposed downstream (fidelity is unchanged)
    Claim("exposing the block outputs improves the paper's GenDistiller on the probes", EXPOSED, DEFAULT, PROBES),
    Claim("exposing its heads (s3prl's layout) improves the baseline on the probes", BASELINE_HEADS, BASELINE, PROBES),
    Claim("with its heads exposed (s3prl's layout), the baseline beats GenDistiller on most tasks", BASELINE_HEADS, DEFAULT, PROBES),
)  # fmt: skip

COST_CLAIMS: tuple[CostClaim, ...] = (
    CostClaim("about 33% fewer parameters than the baseline (with its prediction heads)", DEFAULT, BASELINE, PARAMETERS, 0.72),
    CostClaim("similar time to the baseline (within 15%)", DEFAULT, BASELINE, TIME, 1.15),
    CostClaim("GenDistiller+ has at most 0.67x the baseline's trained parameters", PLUS, BASELINE, PARAMETERS, 0.67),
    CostClaim("GenDistiller+ has the paper's GenDistiller's parameters (within 5%)", PLUS, DEFAULT, PARAMETERS, 1.05),
    CostClaim("GenDistiller+ takes the paper's GenDistiller's time (within 5%)", PLUS, DEFAULT, TIME, 1.05),
)  # fmt: skip


def judge(
    claim: str,
    diffs: Mapping[str, Mapping[str, Any]],
    lower_is_better: Mapping[str, bool],
    kind: str = BEATS,
    wins: int = 0,
) -> dict[str, Any]:
    """The verdict on ``claim`` (of ``kind`` BEATS, EVERY or NO_WORSE) from the paired
    differences of A minus B on each of its metrics (``diffs``: metric -> Difference as a
    dict).

    BEATS is *held* when A wins a majority of the metrics (at least ``wins`` of them when
    given), EVERY when A wins all of them; either is a *tie within the MDE* when every
    metric ties, else *not held*. NO_WORSE is *held* when A loses none."""
    if kind not in (BEATS, EVERY, NO_WORSE):
        raise ValueError(
            f"claim kind: unknown {kind!r}; choose {BEATS!r}, {EVERY!r} or {NO_WORSE!r}"
        )
    if wins and kind != BEATS:
        raise ValueError(f"claim {claim!r}: a number of wins goes with {BEATS!r} claims only")
    outcomes = {m: outcome(d, lower_is_better[m]) for m, d in diffs.items()}
    counts = {k: sum(v == k for v in outcomes.values()) for k in (WIN, TIE, LOSS)}
    n = len(outcomes)
    if not n or wins > n:  # e.g. a run with fewer tasks than the claim needs wins
        verdict = "not measured"
    elif kind == NO_WORSE:
        verdict = "held" if counts[LOSS] == 0 else "not held"
    elif counts[WIN] >= {EVERY: n, BEATS: wins or n // 2 + 1}[kind]:
        verdict = "held"
    elif counts[TIE] == n:
        verdict = "tie within the MDE"
    else:
        verdict = "not held"
    return {
        "claim": claim,
        "outcomes": outcomes,
        "differences": {m: dict(d) for m, d in diffs.items()},
        "counts": counts,
        "verdict": verdict,
    }
