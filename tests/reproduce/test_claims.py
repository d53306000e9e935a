"""The tie rule and the claims' verdicts (reproduce/claims.py)."""

import pytest

from gendistiller.reproduce.claims import (
    BEATS,
    CLAIMS,
    LOSS,
    NO_WORSE,
    TIE,
    WIN,
    Stat,
    compare,
    judge,
    stat,
)


def test_a_difference_inside_the_spread_is_a_tie():
    assert compare(Stat(80, 1, 3), Stat(77, 1, 3)) == WIN
    assert compare(Stat(80, 2, 3), Stat(77, 2, 3)) == TIE
    assert compare(Stat(77, 1, 3), Stat(80, 1, 3)) == LOSS
    # error rates: lower wins
    assert compare(Stat(20, 1, 3, True), Stat(25, 1, 3, True)) == WIN


def test_stat_uses_the_sample_standard_deviation():
    s = stat([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and abs(s.sd - 1.0) < 1e-12 and s.n == 3


def test_verdicts_need_a_majority_of_wins():
    a = {"pr": Stat(20, 1, 3, True), "ks": Stat(90, 1, 3), "sid": Stat(50, 1, 3)}
    b = {"pr": Stat(30, 1, 3, True), "ks": Stat(80, 1, 3), "sid": Stat(60, 1, 3)}
    assert judge("x", a, b, ["pr", "ks", "sid"])["verdict"] == "held"
    assert judge("x", b, a, ["pr", "ks", "sid"])["verdict"] == "reversed"
    assert judge("x", a, b, ["pr", "sid"])["verdict"].startswith("not shown")
    assert judge("v2 is at least as good as v1", a, b, ["pr", "ks"], NO_WORSE)["verdict"] == "held"
    assert judge("x", a, b, [])["verdict"] == "not measured"


def test_the_kind_is_declared_not_read_from_the_wording():
    a = {"pr": Stat(20, 1, 3, True), "ks": Stat(80, 1, 3)}
    b = {"pr": Stat(30, 1, 3, True), "ks": Stat(80, 1, 3)}  # one win, one tie
    assert judge("A is at least as good as B", a, b, ["pr", "ks"], BEATS)["verdict"] == (
        "leaning (more wins than losses, not a majority)"
    )
    assert judge("A beats B", a, b, ["pr", "ks"], NO_WORSE)["verdict"] == "held"
    with pytest.raises(ValueError, match="claim kind"):
        judge("A beats B", a, b, ["pr"], "better")


def test_claims_declare_their_kind_and_metrics():
    no_worse = {c.b for c in CLAIMS if c.kind == NO_WORSE}
    assert no_worse == {"gendistiller-v1", "per-step-weights"}
    assert CLAIMS[0].metric_names(["pr", "ks"]) == ["pr", "ks"]
    assert CLAIMS[1].metric_names(["pr", "ks"]) == ["fidelity"]
    assert CLAIMS[2].metric_names(["pr"]) == ["pr", "fidelity"]
