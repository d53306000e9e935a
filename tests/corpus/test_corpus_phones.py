"""The phone set, and eSpeak's phonemes of the whole lexicon in every accent."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from gendistiller.corpus.phones import IPA_TO_PHONES, PHONES, UnknownPhoneError, to_phones
from gendistiller.corpus.speakers import ACCENTS


def test_phone_set_is_fixed_and_the_mapping_stays_inside_it():
    assert len(PHONES) == len(set(PHONES)) == 40
    for token, phones in IPA_TO_PHONES.items():
        assert phones and set(phones) <= set(PHONES), token
    assert to_phones(["ð", "ˈɪ", "s"]) == ["DH", "IH", "S"]  # stress marks dropped
    assert to_phones(["ˌɑːɹ"]) == ["AA", "R"]
    with pytest.raises(UnknownPhoneError, match="'ʘ'"):
        to_phones(["ʘ"])


def _inventory():
    from gendistiller.corpus.inventory import lexicon_phones

    counts, unknown = lexicon_phones()
    return {a: dict(c) for a, c in counts.items()}, unknown


def test_every_lexicon_phoneme_maps_in_every_accent():
    # In a child process: eSpeak state must not leak into this one (later corpus builds
    # fork from it).
    with mp.get_context("fork").Pool(1) as pool:
        counts, unknown = pool.apply(_inventory)
    assert unknown == set()
    assert set(counts) == set(ACCENTS)
    used = set().union(*counts.values())
    assert used == set(PHONES)  # no dead phone in the set
    for accent, c in counts.items():
        assert len(c) >= 36, accent  # accents differ (e.g. no TH in Caribbean), but little
