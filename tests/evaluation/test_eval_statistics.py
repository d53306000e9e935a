import numpy as np
import pytest

from gendistiller.evaluation.statistics import (
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
