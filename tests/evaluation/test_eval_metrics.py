"""Error rates and CTC decoding on hand-made cases (expected values counted by hand)."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest
import torch

from gendistiller.evaluation.probes import asr
from gendistiller.evaluation.probes.metrics import (
    Vocabulary,
    accuracy,
    char_edits,
    char_error_rate,
    ctc_greedy,
    exact_matches,
    token_edits,
    token_error_rate,
    word_edits,
    word_error_rate,
)


def test_phone_error_rate_counts_substitutions_deletions_insertions():
    # One substitution in each (B->P, IY->S): 2 edits over 5 reference phones.
    refs = [("AH", "B", "K"), ("D", "IY")]
    hyps = [("AH", "P", "K"), ("D", "S")]
    assert token_error_rate(refs, hyps) == pytest.approx(100 * 2 / 5)
    # A deleted B and an inserted D: 2 edits over 3.
    assert token_error_rate([("A", "B", "C")], [("A", "C", "D")]) == pytest.approx(100 * 2 / 3)
    assert token_error_rate(refs, refs) == 0.0
    assert token_error_rate([("A", "B")], [("A", "B", "C", "D")]) == pytest.approx(
        100.0
    )  # 2 insertions / 2
    assert token_error_rate([("A", "B")], [()]) == pytest.approx(
        100.0
    )  # empty hypothesis: all deleted


def test_phone_error_rate_is_corpus_level_not_mean_of_utterances():
    refs = [("A",), ("A", "B", "C", "D")]
    hyps = [("B",), ("A", "B", "C", "D")]
    assert token_error_rate(refs, hyps) == pytest.approx(100 * 1 / 5)  # not (100 + 0) / 2


def test_token_error_rate_rejects_tokens_with_spaces():
    with pytest.raises(ValueError, match="without spaces"):
        token_error_rate([("A B",)], [("A",)])


def test_word_and_char_error_rates():
    assert word_error_rate(["the cat sat"], ["the bat sat down"]) == pytest.approx(100 * 2 / 3)
    assert char_error_rate(["abc"], ["abd"]) == pytest.approx(100 / 3)
    assert word_error_rate(["a b", "c"], ["a b", "c"]) == 0.0
    with pytest.raises(ValueError, match="2 references but 1"):
        word_error_rate(["a", "b"], ["a"])


def test_accuracy_needs_every_slot():
    refs = [("on", "lights", "none"), ("off", "lights", "kitchen")]
    hyps = [("on", "lights", "none"), ("off", "lights", "bedroom")]
    assert accuracy(refs, hyps) == 50.0


def test_asr_characters_round_trip_and_wer():
    chars = asr.to_chars("Turn on the lights, in the kitchen!")
    assert "|" in chars and "," not in chars
    assert asr.to_text(chars) == "TURN ON THE LIGHTS IN THE KITCHEN"
    assert asr.normalize("self-made  o'clock.") == "SELF MADE O'CLOCK"
    ref, hyp = asr.to_chars("the cat sat"), asr.to_chars("the cat sad")
    assert asr.TASK.score([ref], [hyp]) == pytest.approx(100 / 3)


def test_ctc_greedy_merges_repeats_and_drops_blanks():
    vocab = Vocabulary(["A", "B"])
    assert vocab.tokens == ["<blank>", "A", "B"]
    path = [1, 1, 0, 1, 2, 2, 0, 0, 2]  # A A _ A B B _ _ B -> A A B B
    log_probs = torch.full((1, len(path), 3), -10.0)
    log_probs[0, torch.arange(len(path)), torch.tensor(path)] = 0.0
    ids = ctc_greedy(log_probs, torch.tensor([len(path)]))
    assert vocab.decode(ids[0]) == ("A", "A", "B", "B")
    # Frames past the length are ignored.
    assert vocab.decode(ctc_greedy(log_probs, torch.tensor([3]))[0]) == ("A",)
    assert vocab.encode(["A", "Z", "B"]) == [1, 2]  # unseen tokens dropped


def _random_texts(rng, count: int, words: list[str]) -> list[str]:
    return [" ".join(rng.choice(words, int(rng.integers(0, 6)))) for _ in range(count)]


def test_per_item_edits_sum_to_jiwers_corpus_rates():
    # Independent check: jiwer's own corpus-level wer/cer against our per-item sums.
    rng = np.random.default_rng(0)
    words = ["a", "bb", "c", "dd", "eee"]
    refs = [r or "a" for r in _random_texts(rng, 60, words)]
    hyps = _random_texts(rng, 60, words)  # some empty: all deletions
    num, den = word_edits(refs, hyps)
    assert len(num) == len(den) == 60
    assert 100 * sum(num) / sum(den) == pytest.approx(100 * jiwer.wer(refs, hyps))
    num, den = char_edits(refs, hyps)
    assert 100 * sum(num) / sum(den) == pytest.approx(100 * jiwer.cer(refs, hyps))
    assert den == [float(len(r)) for r in refs]


def test_per_item_edits_count_each_utterance():
    # "A B C" -> "A C D": B deleted, D inserted (2 edits over 3); "D IY" -> "D S": 1 over 2.
    num, den = token_edits([("A", "B", "C"), ("D", "IY")], [("A", "C", "D"), ("D", "S")])
    assert (num, den) == ([2.0, 1.0], [3.0, 2.0])
    assert token_edits([("A", "B")], [()]) == ([2.0], [2.0])
    assert exact_matches([("a", "b"), ("c",)], [("a", "b"), ("d",)]) == ([1.0, 0.0], [1.0, 1.0])
