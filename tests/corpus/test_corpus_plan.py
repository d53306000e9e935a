"""The corpus plan (no synthesis): speakers, texts, labels coverage and split policy."""

from __future__ import annotations

from collections import defaultdict

import pytest

from gendistiller.corpus import lexicon
from gendistiller.corpus.commands import (
    INTENTS,
    KEYWORD_CLASSES,
    KEYWORDS,
    keyword_label,
    phrasings,
)
from gendistiller.corpus.plan import SIZES, CorpusSize, get_size, plan_corpus
from gendistiller.corpus.text import NUM_SHAPES, SentenceGenerator
from gendistiller.errors import ConfigError


@pytest.fixture(scope="module")
def default_plan():
    return plan_corpus(SIZES["default"], seed=0)


def test_lexicon_has_several_hundred_words_and_sentences_vary():
    assert len(lexicon.vocabulary()) >= 300
    assert NUM_SHAPES >= 8
    gen = SentenceGenerator(3)
    texts = [gen() for _ in range(500)]
    assert len(set(texts)) == 500
    assert len({t.split()[0] for t in texts}) > 20  # varied openings, not one template
    assert all(t[0].isupper() and t[-1] in ".?" for t in texts)
    again = SentenceGenerator(3)
    assert [again() for _ in range(500)] == texts
    other = SentenceGenerator(4)
    assert [other() for _ in range(50)] != texts[:50]


def test_commands_inventory():
    assert len(KEYWORDS) == 10 and KEYWORD_CLASSES[-1] == "unknown"
    assert keyword_label("marvin") == "unknown" and keyword_label("stop") == "stop"
    labels = [i.label for i in INTENTS]
    assert len(labels) == len(set(labels)) == 31  # as many as Fluent Speech Commands
    for intent in INTENTS:
        forms = phrasings(intent)
        assert len(forms) >= 3 and len(set(forms)) == len(forms)
        if intent.location != "none":
            assert all(intent.location in f for f in forms)


def test_default_plan_speakers(default_plan):
    speakers = {u.speaker.id: u.speaker for u in default_plan}
    assert len(speakers) >= 40
    # each speaker is one consistent identity ...
    for spk_id, spk in speakers.items():
        assert {u.speaker for u in default_plan if u.speaker.id == spk_id} == {spk}
    # ... and no two speakers share a voice variant in the same accent
    combos = {(s.variant, s.accent) for s in speakers.values()}
    assert len(combos) == len(speakers)
    genders = [s.gender for s in speakers.values()]
    assert abs(genders.count("male") - genders.count("female")) <= 1
    assert len({s.accent for s in speakers.values()}) == 8
    assert all(-12.0 <= s.peak_db <= -0.9 for s in speakers.values())


def test_default_plan_split_policy(default_plan):
    speakers_in = defaultdict(set)
    texts_in = defaultdict(set)
    for u in default_plan:
        speakers_in[u.split].add(u.speaker.id)
        if u.kind == "sentence":
            texts_in[u.split].add(u.text)
    # held-out speakers and held-out sentences
    assert set(speakers_in) == {"train", "dev", "test"}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not speakers_in[a] & speakers_in[b]
        assert not texts_in[a] & texts_in[b]
    # speaker identification: by utterance, every speaker in every split
    sid = defaultdict(set)
    for u in default_plan:
        assert (u.split_sid != "") == (u.kind == "sentence")
        if u.split_sid:
            sid[u.split_sid].add(u.speaker.id)
    all_speakers = set().union(*speakers_in.values())
    assert sid["train"] == sid["dev"] == sid["test"] == all_speakers


def test_default_plan_covers_every_class_in_every_split(default_plan):
    for split in ("train", "dev", "test"):
        rows = [u for u in default_plan if u.split == split]
        assert {keyword_label(u.keyword) for u in rows if u.keyword} == set(KEYWORD_CLASSES)
        assert {u.intent for u in rows if u.intent} == set(INTENTS)


def test_plan_is_deterministic_and_seeded():
    a = plan_corpus(SIZES["tiny"], seed=0)
    assert a == plan_corpus(SIZES["tiny"], seed=0)
    b = plan_corpus(SIZES["tiny"], seed=1)
    assert [u.text for u in a] != [u.text for u in b]
    assert [u.speaker for u in a] != [u.speaker for u in b]


def test_sizes_are_validated():
    with pytest.raises(ConfigError, match="unknown 'huge'"):
        get_size("huge")
    with pytest.raises(ConfigError, match="speakers"):
        get_size(CorpusSize("x", speakers=2, sentences=3, keywords=0, unknown=0, intents=0))
    with pytest.raises(ConfigError, match="sentences"):
        get_size(CorpusSize("x", speakers=5, sentences=1, keywords=0, unknown=0, intents=0))
