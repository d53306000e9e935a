"""All audio I/O in one place: read, validate, mix down, resample, write.

Everything downstream (data pipeline, corpus, evaluation, feature extraction) works on
mono float32 waveforms at :data:`SAMPLE_RATE`. Problems with a file are raised as
:class:`AudioError`, whose message is one line naming the file and the problem, so the
callers can skip it with one warning instead of crashing a scan or a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from gendistiller.errors import GenDistillerError
from gendistiller.io import write_bytes

SAMPLE_RATE = 16_000
# Peak below which a clip counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4
# File suffixes treated as audio when scanning folders: what libsndfile reads, under the
# names files actually carry. Headerless formats (RAW) are left out on purpose.
AUDIO_SUFFIXES: frozenset[str] = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc"}
    | {".au", ".snd", ".caf", ".w64", ".rf64", ".sph", ".nist", ".voc", ".htk", ".sd2"}
    | {".paf", ".pvf", ".xi", ".avr", ".wve", ".mpc", ".sds", ".svx", ".8svx"}
)


class AudioError(GenDistillerError, ValueError):
    """A file that cannot be used as audio. ``str(err)`` is ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of a file, read without decoding the samples."""

    path: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def num_samples(self) -> int:
        """Length after resampling to :data:`SAMPLE_RATE`."""
        if self.sample_rate == SAMPLE_RATE:
            return self.frames
        return int(round(self.frames * SAMPLE_RATE / self.sample_rate))

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header; raises :class:`AudioError` if it is not readable audio."""
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for bad headers
        raise AudioError(path, f"not readable as audio ({_short(err)})") from None
    if info.frames <= 0:
        raise AudioError(path, "empty audio (0 samples)")
    if info.samplerate <= 0:
        raise AudioError(path, f"invalid sample rate {info.samplerate}")
    return AudioInfo(str(path), int(info.samplerate), int(info.channels), int(info.frames))


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Average the channels of a ``[frames, channels]`` array; 1-D input is returned as is."""
    if wave.ndim == 1:
        return wave
    if wave.ndim != 2:
        raise ValueError(f"expected a 1-D or [frames, channels] array, got shape {wave.shape}")
    return wave.mean(axis=1)


def resample(wave: np.ndarray, orig_sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (libsoxr, high quality) of a 1-D float waveform."""
    wave = np.asarray(wave, dtype=np.float32)
    if orig_sr == target_sr:
        return wave
    return soxr.resample(wave, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def check_waveform(
    wave: np.ndarray, path: str | os.PathLike = "<array>", min_samples: int = 1
) -> None:
    """Raise :class:`AudioError` for empty, too short, non-finite or all-silent audio."""
    if wave.size == 0:
        raise AudioError(path, "empty audio (0 samples)")
    if wave.shape[-1] < min_samples:
        raise AudioError(
            path,
            f"too short: {wave.shape[-1]} samples at {SAMPLE_RATE} Hz, need at least {min_samples}",
        )
    if not np.isfinite(wave).all():
        raise AudioError(path, "contains NaN or infinite samples")
    if float(np.max(np.abs(wave))) < SILENCE_PEAK:
        raise AudioError(path, "all silent (peak below -80 dBFS)")


def load_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    min_samples: int = 1,
    start: int = 0,
    frames: int = -1,
    check: bool = True,
) -> np.ndarray:
    """Read a file as mono float32 at ``sample_rate``.

    ``start``/``frames`` select a region in the file's own sample rate (for random crops
    of long files without decoding them whole). With ``check`` the result is validated
    by :func:`check_waveform`; any problem raises :class:`AudioError`.
    """
    try:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=True, start=start, frames=frames)
    except Exception as err:
        raise AudioError(path, f"not readable as audio ({_short(err)})") from None
    wave = to_mono(wave)
    wave = resample(wave, int(sr), sample_rate)
    if check:
        check_waveform(wave, path, min_samples)
    return np.ascontiguousarray(wave, dtype=np.float32)


def load_audio_crop(path: str | os.PathLike, start: int, num_samples: int) -> np.ndarray:
    """``num_samples`` samples of a file from sample ``start``, both counted at :data:`SAMPLE_RATE`.

    16 kHz files are read in place (no full decode), others are decoded whole and
    resampled. Only what can break a batch is checked here (unreadable, shorter than
    expected, NaN/inf): a silent stretch inside a good file is normal speech audio.
    """
    try:
        with sf.SoundFile(str(path)) as f:
            sr = int(f.samplerate)
            if sr == SAMPLE_RATE:
                f.seek(start)
                wave = f.read(num_samples, dtype="float32", always_2d=True)
            else:
                wave = f.read(dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(path, f"not readable as audio ({_short(err)})") from None
    wave = to_mono(wave)
    if sr != SAMPLE_RATE:
        wave = resample(wave, sr)[start : start + num_samples]
    if wave.shape[0] < num_samples:
        raise AudioError(
            path, f"too short: ends before sample {start + num_samples} at {SAMPLE_RATE} Hz"
        )
    if not np.isfinite(wave).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(wave, dtype=np.float32)


def write_audio(
    path: str | os.PathLike,
    wave: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    subtype: str | None = None,
    sync: bool = True,
) -> None:
    """Write a mono waveform atomically (format from the suffix: .flac, .wav, .ogg).

    int16 samples are written as they are (with ``subtype="PCM_16"`` the file holds
    exactly those samples), anything else as float32. The file is encoded in memory and
    written through :mod:`gendistiller.io`; ``sync=False`` skips the fsync, for files in
    a folder committed as a whole (libsndfile's own close would fsync every file)."""
    path = Path(path)
    wave = np.asarray(wave)
    if wave.dtype != np.int16:
        wave = wave.astype(np.float32, copy=False)
    buffer = BytesIO()
    sf.write(buffer, wave, sample_rate, format=path.suffix.lstrip(".").upper(), subtype=subtype)
    write_bytes(path, buffer.getvalue(), sync=sync)


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[-1] if text else type(err).__name__
