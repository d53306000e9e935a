"""Synthesis of one speaker's utterances: eSpeak -> 16 kHz -> level -> checks -> FLAC.

:func:`synthesize_speaker` runs in a fresh worker process per speaker (see the note in
:mod:`gendistiller.corpus.espeak`), so its output depends only on the plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gendistiller.audio import SAMPLE_RATE, check_waveform, resample, write_audio
from gendistiller.corpus.espeak import VoiceSettings, engine
from gendistiller.corpus.phones import UnknownPhoneError, to_phones
from gendistiller.corpus.plan import PlannedUtterance
from gendistiller.errors import DataError

# eSpeak's default volume (100) reaches full scale and clips on some voices (klatt,
# edward, belinda); at half volume the loudest stays near 0.5, and levels are set below.
ESPEAK_VOLUME = 50
# A few voices still clip at half volume at a high pitch (klatt3): such an utterance alone
# is synthesised again at these volumes (an utterance that did not clip is unchanged).
RETRY_VOLUMES = (25, 12)
LEAD_SILENCE_S = (0.10, 0.30)  # eSpeak starts and ends on speech; pad as a recording would
TRAIL_SILENCE_S = (0.15, 0.35)
# Every clip lasts at least a second, as in Speech Commands (and as training crops need).
MIN_TOTAL_SAMPLES = SAMPLE_RATE
NOISE_FLOOR_DBFS = -72.0  # faint noise instead of digital silence
MIN_SPEECH_S = 0.15
MIN_RMS_DBFS = -50.0
_INT16_MAX = 32767


@dataclass(frozen=True)
class SynthResult:
    id: str
    num_samples: int
    phonemes: tuple[str, ...]
    peak_dbfs: float
    rms_dbfs: float  # over the speech part, without the padding
    sha1: str  # of the 16-bit samples written


def synthesize_speaker(job: tuple[list[PlannedUtterance], str]) -> list[SynthResult]:
    """Synthesise, label and write all utterances of one speaker under ``root``."""
    utterances, root = job
    espeak = engine()
    results = []
    for utt in utterances:
        spk = utt.speaker
        voice = VoiceSettings(spk.voice, utt.rate, utt.pitch, spk.pitch_range, ESPEAK_VOLUME)
        espeak.set_voice(voice)
        # Phonemised with the very voice (accent) that speaks it, so labels match audio.
        try:
            phones = to_phones(espeak.phonemize(utt.text))
        except UnknownPhoneError as err:
            raise DataError(f"{utt.id} ({spk.voice}, {utt.text!r}): {err}") from None
        if not phones:
            raise DataError(f"{utt.id}: eSpeak gave no phonemes for {utt.text!r}")
        raw = espeak.synthesize(utt.text, seed=utt.seed)
        for volume in RETRY_VOLUMES:
            if not _clipped(raw):
                break
            voice = replace(voice, volume=volume)
            espeak.set_voice(voice)
            raw = espeak.synthesize(utt.text, seed=utt.seed)
        path = Path(root) / utt.path
        if _clipped(raw):
            raise DataError(f"{path}: eSpeak output clipped at volume {voice.volume}")
        samples, speech_rms = _finish(raw, espeak.sample_rate, spk.peak_db, utt.seed, path)
        # int16 is written as is so that the recorded hash is that of the file's samples.
        # No fsync per file (a third of the build time): whole-corpus atomicity and
        # nothing is reused before the whole folder is renamed into place.
        write_audio(path, samples, SAMPLE_RATE, subtype="PCM_16", sync=False)
        peak = int(np.abs(samples.astype(np.int32)).max())
        results.append(
            SynthResult(
                id=utt.id,
                num_samples=len(samples),
                phonemes=tuple(phones),
                peak_dbfs=round(_db(peak / _INT16_MAX), 2),
                rms_dbfs=round(_db(speech_rms), 2),
                sha1=hashlib.sha1(samples.tobytes()).hexdigest(),
            )
        )
    return results


def _finish(
    raw: np.ndarray, sample_rate: int, peak_db: float, seed: int, path: Path
) -> tuple[np.ndarray, float]:
    """16 kHz int16 samples at the speaker's peak level, padded, checked; and speech RMS."""
    speech = resample(raw.astype(np.float32) / 32768.0, sample_rate, SAMPLE_RATE)
    if speech.size < MIN_SPEECH_S * SAMPLE_RATE:
        raise DataError(f"{path}: too short ({speech.size} samples of speech)")
    check_waveform(speech, path)
    # Normalise after resampling: the resampler can overshoot the input's peak.
    speech *= 10 ** (peak_db / 20) / float(np.abs(speech).max())
    speech_rms = float(np.sqrt(np.mean(np.square(speech, dtype=np.float64))))
    if _db(speech_rms) < MIN_RMS_DBFS:
        raise DataError(f"{path}: nearly silent (RMS {_db(speech_rms):.1f} dBFS)")
    rng = np.random.default_rng(seed)
    lead = int(rng.uniform(*LEAD_SILENCE_S) * SAMPLE_RATE)
    trail = int(rng.uniform(*TRAIL_SILENCE_S) * SAMPLE_RATE)
    short = MIN_TOTAL_SAMPLES - (lead + speech.size + trail)
    if short > 0:  # one-word clips last a second, as in Speech Commands
        extra = int(rng.integers(0, short + 1))
        lead, trail = lead + extra, trail + short - extra
    wave = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    wave += rng.standard_normal(wave.size, dtype=np.float32) * np.float32(
        10 ** (NOISE_FLOOR_DBFS / 20)
    )
    samples = np.clip(np.round(wave * _INT16_MAX), -_INT16_MAX, _INT16_MAX).astype(np.int16)
    return samples, speech_rms


def _clipped(raw: np.ndarray) -> bool:
    return bool(raw.size) and int(np.abs(raw.astype(np.int32)).max()) >= _INT16_MAX


def _db(value: float) -> float:
    return 20.0 * float(np.log10(max(value, 1e-10)))
