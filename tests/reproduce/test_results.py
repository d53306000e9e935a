"""From job files with per-item scores to the table, the paired differences and the
verdicts (reproduce/results.py, tables.py)."""

import json

import numpy as np
import pytest

from gendistiller.reproduce import results
from gendistiller.reproduce.claims import CLAIMS

N_ITEMS = 400


def _items(rng, p_correct):
    correct = (rng.random(N_ITEMS) < p_correct).astype(float)
    return {
        "ids": [f"u{i}" for i in range(N_ITEMS)],
        "num": correct.tolist(),
        "den": [1.0] * N_ITEMS,
    }


def _job(out, variant, seed, ks_p, cos, budget="full", parameters=None):
    rng = np.random.default_rng(seed * 10 + len(variant))
    items = _items(rng, ks_p)
    cosines = np.clip(cos + 0.02 * rng.standard_normal((50, 2)), -1, 1)
    cosines[:, 1] -= 0.1
    result = {
        "variant": variant,
        "budget": budget,
        "seed": seed,
        "steps": 10,
        "parameters": parameters or (100 if variant == "gendistiller" else 120),
        "parameters_with_heads": parameters or (100 if variant == "gendistiller" else 160),
        "fidelity": {
            "target_layers": [2, 4],
            "l1": [0.1, 0.2],
            "cosine": cosines.mean(0).tolist(),
            "items": {"ids": [str(i) for i in range(50)], "layers": [2, 4],
                      "frames": rng.integers(20, 80, 50).tolist(), "cosine": cosines.tolist()},
        },
        "probes": {"ks": {"test": 100 * float(np.mean(items["num"])), "lower_is_better": False,
                          "metric": "accuracy", "layer_weights": [0.5, 0.5], "items": items}},
    }  # fmt: skip
    (out / "jobs").mkdir(exist_ok=True)
    (out / "jobs" / f"{variant}-seed{seed}.json").write_text(json.dumps(result))


META = {"scale": "t", "command": "c", "machine": "m", "wall_minutes": 1, "teacher_spec": "t"}


def test_a_planted_difference_is_held_and_no_difference_is_a_tie(tmp_path):
    for seed in range(3):
        _job(tmp_path, "gendistiller", seed, 0.85, 0.9)
        _job(tmp_path, "distilhubert", seed, 0.70, 0.8)
        _job(tmp_path, "gendistiller-v1", seed, 0.85, 0.9, budget="short")
        _job(tmp_path, "gendistiller-short", seed, 0.85, 0.9, budget="short")
    r = results.build(tmp_path, ["ks"], META)
    by_claim = {c["claim"]: c for c in r["claims"]}
    head = by_claim[CLAIMS[0].text]
    assert head["verdict"] == "held" and head["outcomes"] == {"ks": "win"}
    d = head["differences"]["ks"]
    assert d["low"] > 0 and 10 < d["diff"] < 20 and d["n_items"] == N_ITEMS
    # v1 against v2: the same success rate, different draws: no difference can be claimed
    same = by_claim[CLAIMS[4].text]
    assert same["outcomes"]["ks"] == "tie" and same["verdict"] == "held"  # NO_WORSE
    fid = r["vs_baseline"]["gendistiller"]["fidelity"]
    assert fid["outcome"] == "win" and abs(fid["diff"] - 10.0) < 1.0  # cosine x 100
    assert r["vs_baseline"]["gendistiller"]["cosine@4"]["outcome"] == "win"
    params = r["cost_claims"][0]
    assert params["verdict"] == "held" and "0.62x" in params["measured"]

    results.write(r, tmp_path / "out")
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| gendistiller | 10 × 3 | 0.00 |" in md
    assert "## Paired differences against the baseline" in md and "▲" in md
    assert "## Minimum detectable effects" in md
    assert (tmp_path / "out" / "scores.png").stat().st_size > 0
    # no teacher caches and no controls in this run: the cost names only what it has
    assert set(r["cost"]["references"]) == {"teacher", "teacher-random"}
    assert r["cost"]["groups"]["paper"] == pytest.approx(
        sum(
            r["cost"]["variants"][v]["distill"] + r["cost"]["variants"][v]["evaluate"]
            for v in ("gendistiller", "distilhubert", "gendistiller-v1", "gendistiller-short")
        ),
        abs=0.05,  # the group's sum is rounded once, the variants' each
    )


def test_models_scored_on_different_items_are_refused(tmp_path):
    _job(tmp_path, "gendistiller", 0, 0.8, 0.9)
    _job(tmp_path, "distilhubert", 0, 0.8, 0.9)
    path = tmp_path / "jobs" / "distilhubert-seed0.json"
    job = json.loads(path.read_text())
    job["probes"]["ks"]["items"]["ids"][0] = "other"
    path.write_text(json.dumps(job))
    with pytest.raises(ValueError, match="other|different"):
        results.build(tmp_path, ["ks"], META)


def test_the_combined_variant_is_judged_layer_by_layer_and_on_its_cost(tmp_path):
    from gendistiller.reproduce.variants import PLUS

    for seed in range(3):
        _job(tmp_path, "gendistiller", seed, 0.85, 0.9)
        _job(tmp_path, "distilhubert", seed, 0.70, 0.8)
        _job(tmp_path, PLUS, seed, 0.85, 0.95, parameters=104)
    efficiency = {"models": {v: {"latency_ms": {"1.0": 10.0, "4.0": ms}}
                             for v, ms in (("gendistiller", 40.0), ("distilhubert", 38.0), (PLUS, 44.0))}}  # fmt: skip
    (tmp_path / "efficiency.json").write_text(json.dumps(efficiency))
    r = results.build(tmp_path, ["ks"], META)
    by_claim = {c["claim"]: c for c in r["claims"]}
    layers = by_claim["GenDistiller+ beats the baseline on fidelity at every target layer"]
    assert set(layers["outcomes"]) == {"cosine@2", "cosine@4"} and layers["verdict"] == "held"
    last = by_claim[
        "GenDistiller+ beats the paper's GenDistiller on fidelity at the last target layer"
    ]
    assert list(last["outcomes"]) == ["cosine@4"] and last["verdict"] == "held"
    # one probe: "at least two" cannot be decided on it, however large the win
    probes = by_claim["GenDistiller+ beats the baseline on at least two probes"]
    assert probes["outcomes"] == {"ks": "win"} and probes["verdict"] == "not measured"
    cost = {c["claim"]: c for c in r["cost_claims"] if c["a"] == PLUS}
    assert (
        cost["GenDistiller+ has at most 0.67x the baseline's trained parameters"]["verdict"]
        == "held"
    )  # 104 / 160
    params = cost["GenDistiller+ has the paper's GenDistiller's parameters (within 5%)"]
    assert params["verdict"] == "held" and "1.04x" in params["measured"]
    time = cost["GenDistiller+ takes the paper's GenDistiller's time (within 5%)"]
    assert time["verdict"] == "not held" and "1.10x" in time["measured"]  # 11 vs 10 ms per s
    results.write(r, tmp_path / "out")
    assert (
        "GenDistiller+ takes the paper's GenDistiller's time"
        in (tmp_path / "out" / "results.md").read_text()
    )
