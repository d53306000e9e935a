"""Speaker identities: eSpeak voice variant x accent x pitch band x rate band x level.

A speaker's settings are fixed for all their utterances (each utterance only jitters
rate and pitch slightly, as one person does). Speakers alternate between male and female
variants, and no variant or accent is used much more often than the others.

The first ``DISTINCT_VOICES`` (192) speakers each have their own voice (variant in an
accent). Beyond that, speakers come in further rounds of up to 192 that reuse every
voice at most once more, always with a (pitch band, rate band) that the voice has not
had yet: close relatives of earlier speakers, which makes speaker identification harder.
The first 192 speakers of any count are the speakers of a 192-speaker corpus.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# eSpeak accent identifier -> short name. All of them take "+variant".
ACCENTS: dict[str, str] = {
    "en-us": "us",
    "en": "gb",
    "en-gb-x-rp": "rp",
    "en-gb-scotland": "scotland",
    "en-gb-x-gbclan": "lancaster",
    "en-gb-x-gbcwmd": "west-midlands",
    "en-us-nyc": "nyc",
    "en-029": "caribbean",
}

# Human-sounding eSpeak variants (the novelty ones: whisper, robots, echoes, are left out).
MALE_VARIANTS = (
    "m1 m2 m3 m4 m6 m7 klatt klatt3 edward michel travis victor".split()
)  # fmt: skip
FEMALE_VARIANTS = "f1 f2 f3 f4 f5 Annie belinda steph anika Andrea aunty Alicia".split()

# (name, eSpeak value) bands; each speaker gets one of each plus a small fixed offset.
PITCH_BANDS = (("low", 36), ("mid", 50), ("high", 64))  # eSpeak pitch, 0-100
RATE_BANDS = (("slow", 140), ("medium", 165), ("fast", 190))  # words per minute
# Peak level of a speaker's utterances, dBFS: loud and quiet talkers, never above -0.9.
LEVEL_RANGE_DB = (-12.0, -0.92)

BANDS = tuple((p, r) for p in PITCH_BANDS for r in RATE_BANDS)
# Voices (variant in an accent); each can be reused once per (pitch band, rate band).
DISTINCT_VOICES = len(ACCENTS) * (len(MALE_VARIANTS) + len(FEMALE_VARIANTS))
MAX_SPEAKERS = DISTINCT_VOICES * len(BANDS)


@dataclass(frozen=True)
class Speaker:
    id: str
    gender: str
    variant: str
    accent: str  # eSpeak identifier, e.g. "en-gb-scotland"
    pitch_band: str
    rate_band: str
    pitch: int  # eSpeak pitch, 0-100
    pitch_range: int  # eSpeak intonation range, 0-100
    rate: int  # words per minute
    peak_db: float  # peak level of every utterance, dBFS

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"

    @property
    def accent_name(self) -> str:
        return ACCENTS[self.accent]


def make_speakers(count: int, seed: int) -> list[Speaker]:
    """``count`` distinct speakers, deterministic for ``seed`` (ids ``spk000``...)."""
    if not 1 <= count <= MAX_SPEAKERS:
        raise ValueError(f"speaker count must be in 1..{MAX_SPEAKERS}, got {count}")
    rng = random.Random(f"speakers-{seed}")
    bands = list(BANDS)
    speakers: list[Speaker] = []
    had: dict[tuple[str, str], set] = {}  # voice -> the bands it has had
    while len(speakers) < count:
        # The rng draws of the first round are those of the original single-round code
        # (pool shuffles, then the band order): sizes up to 192 speakers are unchanged.
        pools = _shuffled_pools(rng)
        if not speakers:
            rng.shuffle(bands)
        _add_round(speakers, min(count - len(speakers), DISTINCT_VOICES), pools, bands, had, rng)
    return speakers


def _shuffled_pools(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    pools = {
        gender: [(v, a) for v in variants for a in ACCENTS]
        for gender, variants in (("male", MALE_VARIANTS), ("female", FEMALE_VARIANTS))
    }
    for pool in pools.values():
        rng.shuffle(pool)
    return pools


def _add_round(
    speakers: list[Speaker],
    count: int,
    pools: dict[str, list[tuple[str, str]]],
    bands: list,
    had: dict[tuple[str, str], set],
    rng: random.Random,
) -> None:
    """Append ``count`` speakers, each voice of ``pools`` at most once, evenly."""
    n_variants = len(MALE_VARIANTS) + len(FEMALE_VARIANTS)
    cap_variant = math.ceil(count / n_variants)
    cap_accent = math.ceil(count / len(ACCENTS))
    used_v: dict[str, int] = {}
    used_a: dict[str, int] = {}
    for _ in range(count):
        i = len(speakers)
        gender = ("male", "female")[i % 2]
        pool = pools[gender]
        band = bands[i % len(bands)]
        # First voice within the caps that has not had this band; the caps only bind once
        # every voice in the pool has been tried, so fall back to the first new-band voice.
        fresh = [k for k, voice in enumerate(pool) if band not in had.get(voice, ())]
        pick = next(
            (
                k
                for k in fresh
                if used_v.get(pool[k][0], 0) < cap_variant
                and used_a.get(pool[k][1], 0) < cap_accent
            ),
            fresh[0] if fresh else 0,
        )
        variant, accent = voice = pool.pop(pick)
        if band in had.get(voice, ()):  # every voice left has had this band: take another
            band = next(b for b in bands if b not in had[voice])
        had.setdefault(voice, set()).add(band)
        used_v[variant] = used_v.get(variant, 0) + 1
        used_a[accent] = used_a.get(accent, 0) + 1
        (pitch_band, pitch), (rate_band, rate) = band
        speakers.append(
            Speaker(
                id=f"spk{i:03d}",
                gender=gender,
                variant=variant,
                accent=accent,
                pitch_band=pitch_band,
                rate_band=rate_band,
                pitch=pitch + rng.randint(-4, 4),
                pitch_range=rng.randint(35, 70),
                rate=rate + rng.randint(-8, 8),
                peak_db=round(rng.uniform(*LEVEL_RANGE_DB), 2),
            )
        )
