"""The tie rule and the claims' verdicts (reproduce/claims.py): judged on the intervals of
paired differences, not on overlapping spreads."""

import pytest

from gendistiller.reproduce.claims import (
    ALL,
    BEATS,
    CLAIMS,
    COST_CLAIMS,
    EVERY,
    LAST_LAYER,
    LAYERS,
    LOSS,
    NO_WORSE,
    PROBES,
    TIE,
    WIN,
    judge,
    outcome,
    stat,
)
from gendistiller.reproduce.variants import BASELINE, DEFAULT, FULL, PLUS, SHORT_DEFAULT, VARIANTS


def _d(diff, half):
    return {"diff": diff, "low": diff - half, "high": diff + half, "mde": 2.8 * half / 1.96}


def test_an_interval_that_covers_zero_is_a_tie():
    assert outcome(_d(3.0, 1.0), lower_is_better=False) == WIN
    assert outcome(_d(3.0, 3.5), lower_is_better=False) == TIE
    assert outcome(_d(-3.0, 1.0), lower_is_better=False) == LOSS
    # error rates: a negative difference (A's error lower) wins
    assert outcome(_d(-3.0, 1.0), lower_is_better=True) == WIN
    assert outcome(_d(3.0, 1.0), lower_is_better=True) == LOSS


def test_stat_uses_the_sample_standard_deviation():
    s = stat([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and abs(s.sd - 1.0) < 1e-12 and s.n == 3


def test_verdicts_need_a_majority_of_wins_and_all_ties_are_a_tie_within_the_mde():
    lower = {"pr": True, "ks": False, "sid": False}
    wins = {"pr": _d(-5, 1), "ks": _d(4, 1), "sid": _d(-3, 1)}
    assert judge("x", wins, lower)["verdict"] == "held"
    assert judge("x", {"pr": _d(5, 1), "ks": _d(-4, 1)}, lower)["verdict"] == "not held"
    assert judge("x", {"pr": _d(-5, 1), "sid": _d(-3, 1)}, lower)["verdict"] == "not held"
    ties = judge("x", {"pr": _d(0.5, 1), "ks": _d(-0.2, 1)}, lower)
    assert ties["verdict"] == "tie within the MDE" and ties["counts"][TIE] == 2
    assert ties["differences"]["pr"]["mde"] > 0
    assert judge("v2 is at least as good as v1", {"pr": _d(-5, 1), "ks": _d(0, 1)}, lower,
                 NO_WORSE)["verdict"] == "held"  # fmt: skip
    assert judge("x", {}, lower)["verdict"] == "not measured"


def test_the_kind_is_declared_not_read_from_the_wording():
    lower = {"pr": True, "ks": False}
    one_win_one_tie = {"pr": _d(-5, 1), "ks": _d(0.1, 1)}
    assert (
        judge("A is at least as good as B", one_win_one_tie, lower, BEATS)["verdict"] == "not held"
    )
    assert judge("A beats B", one_win_one_tie, lower, NO_WORSE)["verdict"] == "held"
    with pytest.raises(ValueError, match="claim kind"):
        judge("A beats B", one_win_one_tie, lower, "better")


def test_every_needs_every_win_and_a_number_of_wins_replaces_the_majority():
    lower = {"pr": True, "ks": False, "sid": False, "ic": False}
    two_of_four = {"pr": _d(-5, 1), "ks": _d(4, 1), "sid": _d(0.1, 1), "ic": _d(-3, 1)}
    assert judge("x", two_of_four, lower)["verdict"] == "not held"  # 2 of 4: no majority
    assert judge("x", two_of_four, lower, BEATS, wins=2)["verdict"] == "held"
    assert judge("x", two_of_four, lower, BEATS, wins=3)["verdict"] == "not held"
    assert judge("x", two_of_four, lower, EVERY)["verdict"] == "not held"
    three_of_three = {m: _d(-5 if lower[m] else 5, 1) for m in ("pr", "ks", "sid")}
    assert judge("x", three_of_three, lower, EVERY)["verdict"] == "held"
    ties = {"pr": _d(0.5, 1), "ks": _d(-0.2, 1)}
    assert judge("x", ties, lower, EVERY)["verdict"] == "tie within the MDE"
    # fewer metrics than the wins it needs (a run with fewer tasks): not measured
    assert judge("x", {"pr": _d(-5, 1)}, lower, BEATS, wins=2)["verdict"] == "not measured"
    with pytest.raises(ValueError, match="number of wins"):
        judge("x", two_of_four, lower, EVERY, wins=2)


def test_claims_declare_their_kind_and_metrics():
    no_worse = {c.b for c in CLAIMS if c.kind == NO_WORSE}
    assert no_worse == {"gendistiller-v1", "per-step-weights", "gendistiller"}
    assert CLAIMS[0].metric_names(["pr", "ks"]) == ["pr", "ks"]
    assert CLAIMS[1].metric_names(["pr", "ks"]) == ["fidelity"]
    assert CLAIMS[2].metric_names(["pr"]) == ["pr", "fidelity"]
    layers = ["cosine@2", "cosine@4", "cosine@6"]
    by_metrics = {c.metrics: c for c in CLAIMS if c.a == PLUS}
    assert by_metrics[LAYERS].metric_names(["pr"], layers) == layers
    assert by_metrics[LAST_LAYER].metric_names(["pr"], layers) == ["cosine@6"]


def test_every_claim_compares_students_of_one_budget():
    """An ablation trained 200 steps must not be judged against an 800-step default."""
    budget = {v.name: v.budget for v in VARIANTS}
    for c in (*CLAIMS, *COST_CLAIMS):
        assert budget[c.a] == budget[c.b], c.text


def test_the_combined_variant_is_claimed_on_the_issues_targets():
    """At the headline budget: fidelity at every target layer and at least two probes
    against the baseline, the last layer against the paper's GenDistiller, and its size and
    time within 5% of the paper's."""
    assert next(v for v in VARIANTS if v.name == PLUS).budget == FULL
    claims = {(c.b, c.metrics): c for c in CLAIMS if c.a == PLUS}
    assert set(claims) == {(BASELINE, LAYERS), (BASELINE, PROBES), (DEFAULT, LAST_LAYER)}
    assert claims[BASELINE, LAYERS].kind == EVERY
    assert (claims[BASELINE, PROBES].kind, claims[BASELINE, PROBES].wins) == (BEATS, 2)
    assert claims[DEFAULT, LAST_LAYER].kind == BEATS
    cost = {(c.b, c.quantity): c.at_most for c in COST_CLAIMS if c.a == PLUS}
    assert cost == {
        (BASELINE, "parameters"): 0.67,
        (DEFAULT, "parameters"): 1.05,
        (DEFAULT, "time"): 1.05,
    }


def test_each_switch_beyond_the_paper_is_claimed_to_beat_the_papers_gendistiller():
    beyond = ("step-conditioned", "per-step-outproj", "scheduled-sampling", "depth-weighted")
    beyond += ("noisy-teacher-forcing", "output-adapters")
    claims = {c.a: c for c in CLAIMS if c.b == SHORT_DEFAULT and c.a in beyond}
    assert set(claims) == set(beyond) <= {v.name for v in VARIANTS}
    assert all(c.kind == BEATS and c.metrics == ALL for c in claims.values())
    assert all("beat" in c.text and "the paper's GenDistiller" in c.text for c in claims.values())
