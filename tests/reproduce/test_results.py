import json

from gendistiller.reproduce import results
from gendistiller.reproduce.results import LOSS, TIE, WIN, Stat, compare, judge, stat


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
    assert judge("v2 is at least as good as v1", a, b, ["pr", "ks"])["verdict"] == "held"
    assert judge("x", a, b, [])["verdict"] == "not measured"


def _job(out, variant, seed, pr, cos):
    result = {
        "variant": variant,
        "seed": seed,
        "parameters": 100 if variant == "gendistiller" else 120,
        "parameters_with_heads": 100 if variant == "gendistiller" else 160,
        "fidelity": {"target_layers": [2, 4], "l1": [0.1, 0.2], "cosine": [cos, cos - 0.1]},
        "probes": {"pr": {"test": pr, "lower_is_better": True, "metric": "PER"}},
    }
    (out / "jobs").mkdir(exist_ok=True)
    (out / "jobs" / f"{variant}-seed{seed}.json").write_text(json.dumps(result))


def test_table_and_claims_come_from_the_job_files(tmp_path):
    for seed, noise in enumerate((0.0, 0.5, -0.5)):
        _job(tmp_path, "gendistiller", seed, 30 + noise, 0.9 + noise / 100)
        _job(tmp_path, "distilhubert", seed, 40 + noise, 0.8 + noise / 100)
    meta = {"scale": "t", "command": "c", "machine": "m", "wall_minutes": 1, "teacher_spec": "t"}
    r = results.build(tmp_path, ["pr"], meta)
    assert r["stats"]["gendistiller"]["pr"]["mean"] == 30.0
    by_claim = {c["claim"]: c for c in r["claims"]}
    assert by_claim[results.CLAIMS[0][0]]["verdict"] == "held"
    params = r["cost_claims"][0]
    assert params["verdict"] == "held" and "0.62x" in params["measured"]
    results.write(r, tmp_path / "out")
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| gendistiller | 0.00 |" in md and "30.0 ± 0.5" in md
    assert (tmp_path / "out" / "scores.png").stat().st_size > 0
