"""Paired comparisons of two models on the same test items, with seeds combined.

A score is a corpus-level ratio ``100 * sum(numerators) / sum(denominators)`` over test
items: for an accuracy each item is ``(correct, 1)``; for a phone or word error rate it is
``(edits, reference tokens)``, so the ratio is exactly the SUPERB-style corpus metric.

:func:`paired_difference` gives the difference ``score(A) - score(B)`` and a percentile
bootstrap interval for it. Each replicate draws one set of test items, shared by both
models (the pairing: an item that is hard for A is usually hard for B, so most of the
item-to-item variance cancels), and independently draws seeds for A and for B (the
training noise). A difference whose interval covers zero is a tie.

:func:`compare` and :func:`compare_fidelity` take what the probes and the fidelity measure
give (per-item scores keyed by test item id), align the items by id and call
:func:`paired_difference`.

:func:`minimum_detectable_effect` turns the interval's standard error into the smallest
true difference the comparison would detect at the given power.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Difference:
    """``diff = score(A) - score(B)`` (mean over seeds) with its ``level`` interval;
    ``lower_is_better``: the metric's direction (error rates), the default of
    :meth:`verdict`."""

    diff: float
    low: float
    high: float
    se: float
    level: float
    n_items: int
    seeds_a: int
    seeds_b: int
    lower_is_better: bool = False

    @property
    def significant(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def verdict(self, lower_is_better: bool | None = None) -> str:
        """``better`` / ``worse`` for A, or ``tie`` when the interval covers zero."""
        if not self.significant:
            return "tie"
        lower = self.lower_is_better if lower_is_better is None else lower_is_better
        a_higher = self.diff > 0
        return "better" if a_higher != lower else "worse"

    def mde(self, power: float = 0.8) -> float:
        return minimum_detectable_effect(self.se, self.level, power)

    def to_dict(self) -> dict:
        """Every field, plus ``mde`` (80 % power) and ``verdict``: JSON-ready."""
        return {**asdict(self), "mde": self.mde(), "verdict": self.verdict()}

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
    lower_is_better: bool = False,
) -> Difference:
    """Difference of mean corpus scores, A minus B, over the same test items.

    ``a`` and ``b``: one :func:`item_scores` array per distillation seed; every array of both
    models must cover the same items in the same order (checked by count; :func:`compare`
    aligns them by id first).
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
        lower_is_better=lower_is_better,
    )


def compare(
    a: Sequence[Mapping],
    b: Sequence[Mapping],
    *,
    lower_is_better: bool,
    level: float = 0.95,
    replicates: int = 2000,
    seed: int = 0,
) -> Difference:
    """Model A minus model B on a probe task, paired over test items, seeds combined.

    ``a``, ``b``: one element per distillation seed, each a probe's per-item scores
    (``ProbeResult.items``: ``{"ids", "num", "den"}``) or a whole ``ProbeResult`` /
    ``ProbeResult.as_dict()``. Items are matched by id, in any order; every element of
    both models must hold the same ids (else a ValueError naming the difference).
    ``lower_is_better``: the metric's direction (True for error rates), used by the
    verdict. Both models should have been probed with the same probe seed(s).
    """
    runs = {"A": [_probe_items(x) for x in a], "B": [_probe_items(x) for x in b]}
    sa, sb = _aligned(runs)
    return paired_difference(
        sa, sb, level=level, replicates=replicates, seed=seed, lower_is_better=lower_is_better
    )


def compare_fidelity(
    a: Sequence[Mapping],
    b: Sequence[Mapping],
    layer: int,
    *,
    level: float = 0.95,
    replicates: int = 2000,
    seed: int = 0,
) -> Difference:
    """Student A minus student B in fidelity to their teacher's ``layer`` (a teacher
    layer number, one of the students' target layers), paired over utterances.

    The score is 100 x the mean cosine over valid frames (each utterance weighted by
    its frames, so it is 100 x ``FidelityResult.cosine``): differences read in cosine
    points x 100 (+1.0 = 0.01 cosine). ``a``, ``b``: one element per distillation seed,
    each a ``FidelityResult``, its ``as_dict()`` or its ``items``.
    """
    runs = {
        "A": [_fidelity_items(x, layer, "A") for x in a],
        "B": [_fidelity_items(x, layer, "B") for x in b],
    }
    sa, sb = _aligned(runs)
    return paired_difference(sa, sb, level=level, replicates=replicates, seed=seed)


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


def _as_mapping(x) -> Mapping:
    return x if isinstance(x, Mapping) else x.as_dict()


def _probe_items(x) -> tuple[list[str], np.ndarray]:
    x = _as_mapping(x)
    items = x["items"] if isinstance(x.get("items"), Mapping) else x
    missing = [k for k in ("ids", "num", "den") if k not in items]
    if missing:
        raise ValueError(f"per-item scores need keys ids, num and den (missing {missing})")
    return list(items["ids"]), item_scores(items["num"], items["den"])


def _fidelity_items(x, layer: int, name: str) -> tuple[list[str], np.ndarray]:
    x = _as_mapping(x)
    items = x["items"] if isinstance(x.get("items"), Mapping) else x
    layers = list(items["layers"])
    if layer not in layers:
        raise ValueError(
            f"student {name} has no prediction of teacher layer {layer} (only {layers})"
        )
    k = layers.index(layer)
    frames = np.asarray(items["frames"], dtype=np.float64)
    cosine = np.asarray([row[k] for row in items["cosine"]], dtype=np.float64)
    return list(items["ids"]), item_scores(cosine * frames, frames)


def _aligned(runs: Mapping[str, list[tuple[list[str], np.ndarray]]]) -> list[list[np.ndarray]]:
    """Every run's scores in the id order of the first run of the first model."""
    ref_name = next(iter(runs))
    if not runs[ref_name]:
        raise ValueError(f"model {ref_name} has no scored seed")
    ref_ids = runs[ref_name][0][0]
    position = {i: k for k, i in enumerate(ref_ids)}
    if len(position) != len(ref_ids):
        raise ValueError(f"model {ref_name} seed 0: an item id appears twice")
    out = []
    for name, model_runs in runs.items():
        aligned = []
        for s, (ids, scores) in enumerate(model_runs):
            if len(ids) != scores.shape[1]:
                raise ValueError(
                    f"model {name} seed {s}: {len(ids)} ids for {scores.shape[1]} scores"
                )
            if ids != ref_ids:
                _check_same_ids(ids, position, f"model {name} seed {s}", f"model {ref_name} seed 0")
                scores = scores[:, np.argsort([position[i] for i in ids])]
            aligned.append(scores)
        out.append(aligned)
    return out


def _check_same_ids(ids: list[str], reference: Mapping[str, int], what: str, ref: str) -> None:
    given = set(ids)
    if len(given) != len(ids):
        raise ValueError(f"{what}: an item id appears twice")
    lacks = [i for i in reference if i not in given]
    extra = [i for i in ids if i not in reference]
    if lacks or extra:
        raise ValueError(
            f"{what} was not scored on the same test items as {ref}: it lacks {len(lacks)} "
            f"({', '.join(map(repr, lacks[:3]))}) and has {len(extra)} others "
            f"({', '.join(map(repr, extra[:3]))}); a paired comparison needs the same items"
        )
