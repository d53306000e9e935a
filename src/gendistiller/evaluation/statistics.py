"""Paired comparisons of two models on the same test items, with seeds combined.

A score is a corpus-level ratio ``100 * sum(numerators) / sum(denominators)`` over test
items: for an accuracy each item is ``(correct, 1)``; for a phone or word error rate it is
``(edits, reference tokens)``, so the ratio is exactly the SUPERB-style corpus metric.

:func:`paired_difference` gives the difference ``score(A) - score(B)`` and a percentile
bootstrap interval for it. Each replicate draws one set of test items, shared by both
models (the pairing: an item that is hard for A is usually hard for B, so most of the
item-to-item variance cancels), and independently draws seeds for A and for B (the
training noise). A difference whose interval covers zero is a tie.

:func:`minimum_detectable_effect` turns the interval's standard error into the smallest
true difference the comparison would detect at the given power.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Difference:
    """``diff = score(A) - score(B)`` (mean over seeds) with its ``level`` interval."""

    diff: float
    low: float
    high: float
    se: float
    level: float
    n_items: int
    seeds_a: int
    seeds_b: int

    @property
    def significant(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def verdict(self, lower_is_better: bool = False) -> str:
        """``better`` / ``worse`` for A, or ``tie`` when the interval covers zero."""
        if not self.significant:
            return "tie"
        a_higher = self.diff > 0
        return "better" if a_higher != lower_is_better else "worse"

    def mde(self, power: float = 0.8) -> float:
        return minimum_detectable_effect(self.se, self.level, power)

    def to_dict(self) -> dict:
        return {**asdict(self), "mde": self.mde()}

    def __str__(self) -> str:
        pct = round(100 * self.level)
        return f"{self.diff:+.2f} [{self.low:+.2f}, {self.high:+.2f}] ({pct}% CI)"


def item_scores(numerators: Sequence[float], denominators: Sequence[float] | None = None):
    """One model-seed's per-item scores as a ``[2, n_items]`` array (numerators; denominators,
    all 1 when omitted)."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.ones_like(num) if denominators is None else np.asarray(denominators, np.float64)
    if num.ndim != 1 or num.shape != den.shape:
        raise ValueError(f"numerators {num.shape} and denominators {den.shape} must be equal 1-D")
    if not len(num) or den.sum() <= 0:
        raise ValueError("a score needs at least one item with a positive denominator")
    return np.stack([num, den])


def corpus_score(scores: np.ndarray) -> float:
    """``100 * sum(numerators) / sum(denominators)`` of one ``[2, n_items]`` array."""
    return float(100.0 * scores[0].sum() / scores[1].sum())


def paired_difference(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    *,
    level: float = 0.95,
    replicates: int = 2000,
    seed: int = 0,
) -> Difference:
    """Difference of mean corpus scores, A minus B, over the same test items.

    ``a`` and ``b``: one :func:`item_scores` array per distillation seed; every array of both
    models must cover the same items in the same order (checked by count).
    """
    sa, sb = _stack(a, "A"), _stack(b, "B")
    if sa.shape[2] != sb.shape[2]:
        raise ValueError(
            f"models were scored on different test items ({sa.shape[2]} vs {sb.shape[2]}): "
            "a paired comparison needs the same items"
        )
    n = sa.shape[2]
    rng = np.random.default_rng(seed)
    diffs = np.empty(replicates)
    for r in range(replicates):
        items = rng.integers(0, n, n)
        ka = rng.integers(0, len(sa), len(sa))
        kb = rng.integers(0, len(sb), len(sb))
        diffs[r] = _mean_score(sa[ka][:, :, items]) - _mean_score(sb[kb][:, :, items])
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [alpha, 1.0 - alpha])
    return Difference(
        diff=_mean_score(sa) - _mean_score(sb),
        low=float(low),
        high=float(high),
        se=float(diffs.std(ddof=1)),
        level=level,
        n_items=n,
        seeds_a=len(sa),
        seeds_b=len(sb),
    )


def minimum_detectable_effect(se: float, level: float = 0.95, power: float = 0.8) -> float:
    """The true difference a two-sided test at ``level`` detects with probability ``power``,
    for a difference estimated with standard error ``se``: ``(z_{1-a/2} + z_power) * se``."""
    z_level = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)
    return float((z_level + NormalDist().inv_cdf(power)) * se)


def _stack(runs: Sequence[np.ndarray], name: str) -> np.ndarray:
    if not len(runs):
        raise ValueError(f"model {name} has no scored seed")
    shapes = {np.shape(r) for r in runs}
    if len(shapes) != 1:
        raise ValueError(f"model {name}: seeds were scored on different items ({sorted(shapes)})")
    return np.stack([np.asarray(r, dtype=np.float64) for r in runs])


def _mean_score(runs: np.ndarray) -> float:
    # runs: [seeds, 2, items] -> the mean over seeds of each seed's corpus-level score.
    return float(np.mean(100.0 * runs[:, 0].sum(axis=1) / runs[:, 1].sum(axis=1)))
