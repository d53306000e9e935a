"""The tie rule and the claims' verdicts (reproduce/claims.py): judged on the intervals of
paired differences, not on overlapping spreads."""

import pytest

from gendistiller.reproduce.claims import (
    ALL,
    BEATS,
    CLAIMS,
    LOSS,
    NO_WORSE,
    TIE,
    WIN,
    judge,
    outcome,
    stat,
)
from gendistiller.reproduce.plan import SHORT_DEFAULT, VARIANTS


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


def test_claims_declare_their_kind_and_metrics():
    no_worse = {c.b for c in CLAIMS if c.kind == NO_WORSE}
    assert no_worse == {"gendistiller-v1", "per-step-weights", "gendistiller"}
    assert CLAIMS[0].metric_names(["pr", "ks"]) == ["pr", "ks"]
    assert CLAIMS[1].metric_names(["pr", "ks"]) == ["fidelity"]
    assert CLAIMS[2].metric_names(["pr"]) == ["pr", "fidelity"]


def test_every_claim_compares_students_of_one_budget():
    """An ablation trained 200 steps must not be judged against an 800-step default."""
    budget = {v.name: v.budget for v in VARIANTS}
    for c in CLAIMS:
        assert budget[c.a] == budget[c.b], c.text


def test_each_switch_beyond_the_paper_is_claimed_to_beat_the_papers_gendistiller():
    beyond = ("step-conditioned", "per-step-outproj", "scheduled-sampling", "depth-weighted")
    beyond += ("noisy-teacher-forcing",)
    claims = {c.a: c for c in CLAIMS if c.b == SHORT_DEFAULT and c.a in beyond}
    assert set(claims) == set(beyond) <= {v.name for v in VARIANTS}
    assert all(c.kind == BEATS and c.metrics == ALL for c in claims.values())
    assert all("beat" in c.text and "the paper's GenDistiller" in c.text for c in claims.values())
