"""Speaker identities: distinct voices first, then voices reused with new bands."""

from __future__ import annotations

from collections import Counter

import pytest

from gendistiller.corpus.speakers import (
    BANDS,
    DISTINCT_VOICES,
    MAX_SPEAKERS,
    make_speakers,
)


def _bands(spk) -> tuple[str, str]:
    return spk.pitch_band, spk.rate_band


def test_speakers_beyond_the_distinct_voices_reuse_a_voice_with_new_bands():
    count = DISTINCT_VOICES + 58  # as many as the eval size
    speakers = make_speakers(count, seed=0)
    # the first 192 are those of a 192-speaker corpus: growing a corpus keeps its speakers
    assert speakers[:DISTINCT_VOICES] == make_speakers(DISTINCT_VOICES, seed=0)
    assert len({s.voice for s in speakers[:DISTINCT_VOICES]}) == DISTINCT_VOICES
    assert len({s.id for s in speakers}) == count
    by_voice: dict[str, list] = {}
    for spk in speakers:
        by_voice.setdefault(spk.voice, []).append(spk)
    assert Counter(len(v) for v in by_voice.values()) == {1: DISTINCT_VOICES - 58, 2: 58}
    for group in by_voice.values():  # a reused voice never repeats its bands
        assert len({_bands(s) for s in group}) == len(group)
    extra = speakers[DISTINCT_VOICES:]
    genders = Counter(s.gender for s in extra)
    assert abs(genders["male"] - genders["female"]) <= 1
    # the second round spreads over variants and accents as the first does
    assert max(Counter(s.variant for s in extra).values()) <= 3
    assert max(Counter(s.accent for s in extra).values()) <= 8


def test_every_voice_and_band_once_at_the_maximum():
    speakers = make_speakers(MAX_SPEAKERS, seed=3)
    assert MAX_SPEAKERS == DISTINCT_VOICES * len(BANDS)
    assert len({(s.voice, _bands(s)) for s in speakers}) == MAX_SPEAKERS
    with pytest.raises(ValueError, match="speaker count"):
        make_speakers(MAX_SPEAKERS + 1, seed=0)


def test_speakers_are_seeded():
    assert make_speakers(200, seed=1) == make_speakers(200, seed=1)
    assert make_speakers(200, seed=1)[195:] != make_speakers(200, seed=2)[195:]
