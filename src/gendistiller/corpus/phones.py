"""The corpus phone set: eSpeak's IPA phonemes mapped onto 40 ARPAbet phones.

Labels are what eSpeak actually says in the speaker's accent (its IPA output for the
same text and voice that were synthesised), mapped to the nearest ARPAbet phone. So the
same word can have different labels in different accents (West Midlands "please" is
``P L EY Z``; Caribbean "the" is ``D AH``), and the labels agree with the audio.

The set is CMUdict's 39 phones without stress, plus ``DX`` for the American flap.
Conventions, where ARPAbet has no single match:

- syllabic consonants become schwa + consonant (``əl`` -> ``AH L``, ``n̩`` -> ``AH N``);
- r-coloured vowels become vowel + ``R`` (``ɑːɹ`` -> ``AA R``), except ``ɚ`` -> ``ER``;
- the centring diphthongs of non-rhotic accents become their first vowel (``eə`` -> ``EH``),
  except ``iə``, which eSpeak also uses for two syllables (idea, museum): ``IY AH``;
- regional vowels go to the nearest ARPAbet vowel by sound: ``eː``/``ei`` -> ``EY``,
  ``oː``/``əʊ``/``ʌʊ`` -> ``OW``, ``æʊ``/``ʌʉ`` -> ``AW``, ``ʉ`` -> ``UW``; where that is
  ambiguous the vowel keeps its class, so that a contrast eSpeak makes stays one in the
  labels: West Midlands GOOSE ``əu`` -> ``UW`` (its GOAT is ``ʌʊ`` -> ``OW``), New York
  NURSE ``əɪ`` -> ``ER``;
- the glottal stop (``ʔ``, for /t/) -> ``T``; dental ``t̪`` -> ``T``; ``ʍ`` -> ``W``.
"""

from __future__ import annotations

PHONES: tuple[str, ...] = (
    # vowels
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
    # consonants
    "B", "CH", "D", "DH", "DX", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S",
    "SH", "T", "TH", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip

VOWELS = frozenset(PHONES[:15])

# eSpeak IPA token (stress marks removed) -> phones. Covers every token eSpeak produces for
# the corpus texts in the corpus accents (a test phonemises the whole lexicon to check).
IPA_TO_PHONES: dict[str, tuple[str, ...]] = {
    k: tuple(v.split())
    for k, v in {
        # consonants
        "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "f": "F", "v": "V",
        "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH",
        "tʃ": "CH", "dʒ": "JH", "m": "M", "n": "N", "ŋ": "NG", "l": "L", "ɹ": "R", "r": "R",
        "w": "W", "j": "Y", "ʍ": "W", "t̪": "T", "ʔ": "T", "ɾ": "DX", "x": "K",
        "əl": "AH L", "n̩": "AH N",
        # monophthongs
        "ə": "AH", "ɐ": "AH", "ʌ": "AH", "ɪ": "IH", "ᵻ": "IH", "i": "IY", "iː": "IY",
        "e": "EY", "eː": "EY", "ɛ": "EH", "æ": "AE", "a": "AE", "ɛə": "AE",
        "aː": "AA", "a:": "AA", "aa": "AA", "ɑː": "AA", "ɑ": "AA", "ɒ": "AA",
        "ɔː": "AO", "ɔ": "AO", "o": "OW", "oː": "OW", "ʊ": "UH", "uː": "UW", "u": "UW",
        "ʉ": "UW", "ʉː": "UW", "ɜː": "ER", "ɜ": "ER", "ɚ": "ER", "əɹ": "ER", "əɪ": "ER",
        # diphthongs
        "eɪ": "EY", "ei": "EY", "eʲ": "EY", "aɪ": "AY", "ɔɪ": "OY", "oɪ": "OY",
        "aʊ": "AW", "æʊ": "AW", "ʌʉ": "AW", "oʊ": "OW", "əʊ": "OW", "ʌʊ": "OW", "əu": "UW",
        # centring diphthongs and triphthongs
        "eə": "EH", "ʊə": "UH", "ɑə": "AA", "ɔə": "AO", "oə": "AO", "iə": "IY AH",
        "aɪə": "AY AH", "aɪɚ": "AY ER", "aʊə": "AW AH",
        # r-coloured vowels
        "ɑːɹ": "AA R", "ɔːɹ": "AO R", "ɛɹ": "EH R", "ɪɹ": "IH R", "ʊɹ": "UH R", "ʉɹ": "UW R",
        "ʌɹ": "AH R",
    }.items()
}  # fmt: skip

_STRESS = str.maketrans("", "", "ˈˌ")


class UnknownPhoneError(ValueError):
    """An eSpeak phoneme with no entry in :data:`IPA_TO_PHONES`."""


def to_phones(ipa_tokens: list[str]) -> list[str]:
    """Map eSpeak IPA tokens (as from ``Espeak.phonemize``) to the corpus phone set."""
    phones: list[str] = []
    for token in ipa_tokens:
        key = token.translate(_STRESS)
        if not key:
            continue
        mapped = IPA_TO_PHONES.get(key)
        if mapped is None:
            raise UnknownPhoneError(f"eSpeak phoneme {key!r} has no mapping in the phone set")
        phones.extend(mapped)
    return phones
