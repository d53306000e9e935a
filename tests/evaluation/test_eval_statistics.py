import numpy as np
import pytest

from gendistiller.evaluation.statistics import (
    compare,
    compare_fidelity,
    corpus_score,
    item_scores,
    minimum_detectable_effect,
    paired_difference,
)


def _model(rng, difficulty, ability):
    """Per-item correctness of one model-seed: easier items are right more often."""
    p = 1.0 / (1.0 + np.exp(difficulty - ability))
    return item_scores(rng.random(len(difficulty)) < p)


def test_corpus_score_is_the_ratio_of_sums():
    s = item_scores([1, 0, 3], [2, 2, 4])  # e.g. edits over reference phones
    assert corpus_score(s) == pytest.approx(100 * 4 / 8)


def test_planted_difference_is_detected_and_estimated():
    rng = np.random.default_rng(1)
    difficulty = rng.normal(0.0, 1.5, 1000)
    a = [_model(rng, difficulty, 1.0) for _ in range(3)]
    b = [_model(rng, difficulty, 0.7) for _ in range(3)]
    d = paired_difference(a, b, replicates=500)
    true = np.mean([corpus_score(x) for x in a]) - np.mean([corpus_score(x) for x in b])
    assert d.diff == pytest.approx(true)
    assert d.significant and d.low > 0
    assert d.verdict() == "better" and d.verdict(lower_is_better=True) == "worse"
    assert d.low < d.diff < d.high


def test_without_a_difference_the_interval_covers_zero_at_about_the_stated_rate():
    rng = np.random.default_rng(2)
    covered = 0
    sims = 200
    for _ in range(sims):
        difficulty = rng.normal(0.0, 1.5, 300)
        a = [_model(rng, difficulty, 0.5)]
        b = [_model(rng, difficulty, 0.5)]
        d = paired_difference(a, b, replicates=400, seed=int(rng.integers(1 << 30)))
        covered += not d.significant
    # 95% nominal; the binomial sd over 200 simulations is 1.5 points.
    assert 0.90 <= covered / sims <= 0.99


def test_pairing_narrows_the_interval_compared_with_independent_items():
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0.0, 2.0, 800)
    a = [_model(rng, difficulty, 0.5)]
    b = [_model(rng, difficulty, 0.4)]
    paired = paired_difference(a, b, replicates=500)
    shuffled = [item_scores(b[0][0][rng.permutation(800)])]
    unpaired = paired_difference(a, shuffled, replicates=500)
    assert paired.high - paired.low < 0.8 * (unpaired.high - unpaired.low)


def test_different_items_are_refused():
    with pytest.raises(ValueError, match="same items"):
        paired_difference([item_scores([1, 0, 1])], [item_scores([1, 0])])


def test_mde_is_2_8_standard_errors_at_80_percent_power():
    assert minimum_detectable_effect(1.0) == pytest.approx(1.96 + 0.8416, abs=1e-3)


def _items(ids, correct):
    return {"ids": list(ids), "num": [float(c) for c in correct], "den": [1.0] * len(ids)}


def test_compare_matches_items_by_id_whatever_their_order():
    rng = np.random.default_rng(4)
    difficulty = rng.normal(0.0, 1.5, 400)
    ids = [f"utt{i}" for i in range(400)]
    a = [_items(ids, _model(rng, difficulty, 1.0)[0]) for _ in range(2)]
    b = [_items(ids, _model(rng, difficulty, 0.6)[0]) for _ in range(2)]
    d = compare(a, b, lower_is_better=False, replicates=300)
    # The same items shuffled (and one seed wrapped as a probe result) give the same answer.
    perm = rng.permutation(400)
    shuffled = [{k: [v[i] for i in perm] for k, v in run.items()} for run in b]
    d2 = compare(a, [{"items": shuffled[0]}, shuffled[1]], lower_is_better=False, replicates=300)
    assert d2 == d and d.verdict() == "better" and d.to_dict()["verdict"] == "better"
    assert d.n_items == 400 and (d.seeds_a, d.seeds_b) == (2, 2)
    # An error rate: A higher is worse.
    e = compare(a, b, lower_is_better=True, replicates=300)
    assert e.verdict() == "worse" and e.lower_is_better


def test_compare_names_items_that_differ():
    a = [_items(["x", "y", "z"], [1, 0, 1])]
    with pytest.raises(
        ValueError, match=r"model B seed 0 .* lacks 1 \('z'\) and has 1 others \('w'\)"
    ):
        compare(a, [_items(["x", "y", "w"], [1, 1, 1])], lower_is_better=False)
    with pytest.raises(ValueError, match="model A seed 1"):
        compare([a[0], _items(["x", "y"], [1, 1])], a, lower_is_better=False)
    with pytest.raises(ValueError, match="missing"):
        compare([{"ids": ["x"]}], a, lower_is_better=False)


def test_compare_fidelity_is_100_x_the_frame_mean_cosine():
    def fid(cosines, frames):
        return {
            "target_layers": [2, 4],
            "cosine": [],
            "items": {"ids": ["a", "b"], "layers": [2, 4], "frames": frames, "cosine": cosines},
        }

    a = fid([[0.9, 0.8], [0.7, 0.6]], [10, 30])
    b = fid([[0.9, 0.7], [0.7, 0.5]], [10, 30])
    d = compare_fidelity([a], [b], 4, replicates=200)
    # Layer 4: A = (0.8 * 10 + 0.6 * 30) / 40, B = (0.7 * 10 + 0.5 * 30) / 40.
    assert d.diff == pytest.approx(100 * (26 / 40 - 22 / 40))
    assert compare_fidelity([a], [b], 2, replicates=50).diff == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no prediction of teacher layer 6"):
        compare_fidelity([a], [b], 6)
