"""Inventories: the phones eSpeak produces for the whole lexicon, and a built corpus's figures.

:func:`lexicon_phones` initialises eSpeak in the calling process; run it in a child
process if that process later builds corpora (see :mod:`gendistiller.corpus.espeak`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from gendistiller.corpus import commands, lexicon
from gendistiller.corpus.dataset import Corpus
from gendistiller.corpus.espeak import VoiceSettings, engine
from gendistiller.corpus.phones import UnknownPhoneError, to_phones
from gendistiller.corpus.speakers import ACCENTS
from gendistiller.corpus.text import SentenceGenerator


def lexicon_texts(sentences: int = 200, seed: int = 0) -> list[str]:
    """Every word of the lexicon and of the commands, every intent phrasing, and some
    generated sentences (for eSpeak's sandhi between words)."""
    words = sorted(lexicon.vocabulary() | set(commands.KEYWORDS) | set(commands.UNKNOWN_WORDS))
    texts = [w + "." for w in words]
    texts += [p for intent in commands.INTENTS for p in commands.phrasings(intent)]
    generate = SentenceGenerator(seed)
    texts += [generate() for _ in range(sentences)]
    return texts


def lexicon_phones(texts: list[str] | None = None) -> tuple[dict[str, Counter], set[str]]:
    """Phone counts per accent over ``texts``, and the eSpeak tokens with no mapping."""
    texts = lexicon_texts() if texts is None else texts
    espeak = engine()
    counts: dict[str, Counter] = {}
    unknown: set[str] = set()
    for accent in ACCENTS:
        espeak.set_voice(VoiceSettings(accent))
        counts[accent] = Counter()
        for text in texts:
            for token in espeak.phonemize(text):
                try:
                    counts[accent].update(to_phones([token]))
                except UnknownPhoneError:
                    unknown.add(token)
    return counts, unknown


def corpus_summary(corpus: Corpus) -> dict:
    """Listening-free sanity figures: counts, durations, levels and phone counts."""
    records = corpus.records

    def kind(r) -> str:
        return "sentence" if r.kind == "sentence" else ("keyword" if r.keyword else "intent")

    def spread(values: list[float]) -> dict[str, float]:
        a = np.asarray(values, dtype=np.float64)
        return {
            "min": round(float(a.min()), 2),
            "p5": round(float(np.percentile(a, 5)), 2),
            "median": round(float(np.median(a)), 2),
            "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2),
        }

    kinds = sorted({kind(r) for r in records})
    phones = Counter(p for r in records for p in r.phonemes)
    return {
        "utterances": len(records),
        "speakers": len(corpus.speakers),
        "hours": round(corpus.seconds / 3600, 3),
        "by_kind": {k: sum(kind(r) == k for r in records) for k in kinds},
        "by_split": dict(Counter(r.split for r in records)),
        "accents": dict(Counter(s.accent_name for s in corpus.speakers)),
        "genders": dict(Counter(s.gender for s in corpus.speakers)),
        "seconds": {k: spread([r.seconds for r in records if kind(r) == k]) for k in kinds},
        "peak_dbfs": spread([r.peak_dbfs for r in records]),
        "speech_rms_dbfs": spread([r.rms_dbfs for r in records]),
        "phones_per_second": spread(
            [len(r.phonemes) / r.seconds for r in records if r.kind == "sentence"]
        ),
        "phone_counts": {p: phones[p] for p in corpus.phone_set},
        "keyword_counts": dict(Counter(r.keyword for r in records if r.keyword)),
        "intent_counts": len({r.intent for r in records if r.intent}),
    }
