"""What a probe trains on: labelled utterances in three splits.

Every task, whatever its source (the offline corpus, a standard dataset layout, or a
synthetic test set), ends as a :class:`TaskData` of :class:`Example` s: audio (a file,
optionally a region of it, or an in-memory waveform) and a label, a tuple of strings:
one value per slot for classification (``("yes",)``, ``("activate", "lights", "none")``),
the token sequence for sequence tasks (phones, characters).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gendistiller.audio import SAMPLE_RATE, load_audio, load_audio_crop
from gendistiller.encoders.geometry import STANDARD
from gendistiller.errors import DataError

SPLITS = ("train", "dev", "test")
# Shorter inputs give no frame at all (the receptive field is 400 samples).
MIN_SAMPLES = STANDARD.receptive_field


@dataclass(frozen=True, eq=False)
class Example:
    """One labelled utterance. ``audio`` is a path or a 16 kHz float waveform; with a path,
    ``start``/``num_samples`` (at 16 kHz) select a region, e.g. 1 s of background noise."""

    id: str
    audio: str | np.ndarray
    label: tuple[str, ...]
    start: int = 0
    num_samples: int = -1

    def load(self) -> np.ndarray:
        if isinstance(self.audio, np.ndarray):
            wave = np.asarray(self.audio, dtype=np.float32)
        elif self.num_samples > 0:
            wave = load_audio_crop(self.audio, self.start, self.num_samples)
        else:
            wave = load_audio(self.audio, min_samples=MIN_SAMPLES, check=False)
        if wave.ndim != 1 or wave.shape[0] < MIN_SAMPLES:
            where = self.audio if isinstance(self.audio, str) else self.id
            raise DataError(
                f"{where}: need a 1-D waveform of at least {MIN_SAMPLES} samples, got {wave.shape}"
            )
        return wave

    @functools.cached_property
    def audio_key(self) -> str:
        """Identity of the audio (not the label): what feature caches are keyed by."""
        if isinstance(self.audio, np.ndarray):
            return (
                "a"
                + hashlib.sha1(np.ascontiguousarray(self.audio, np.float32).tobytes()).hexdigest()
            )
        try:
            st = os.stat(self.audio)
        except OSError as err:
            raise DataError(f"{self.audio}: cannot read ({err.strerror or err})") from None
        ident = f"{os.path.abspath(self.audio)}|{self.start}|{self.num_samples}|{st.st_size}|{st.st_mtime_ns}"
        return "f" + hashlib.sha1(ident.encode()).hexdigest()


@dataclass
class TaskData:
    """A task's examples in train/dev/test, and where they came from."""

    task: str
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> list[Example]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}")
        return getattr(self, name)

    def check(self) -> TaskData:
        """Every split non-empty, and ids unique within each split (per-item scores and
        paired comparisons are keyed by them)."""
        for name in SPLITS:
            if not self.split(name):
                raise DataError(
                    f"{self.source or self.task}: no {name} examples for task {self.task}"
                )
            seen: set[str] = set()
            for ex in self.split(name):
                if ex.id in seen:
                    raise DataError(
                        f"{self.source or self.task}: example id {ex.id!r} appears twice in the "
                        f"{name} split of task {self.task}"
                    )
                seen.add(ex.id)
        return self

    def all_examples(self) -> list[Example]:
        return [*self.train, *self.dev, *self.test]

    def subset(self, train: int, dev: int, test: int, seed: int = 0) -> TaskData:
        """At most this many examples per split, drawn at random with ``seed`` (in their
        original order): cheaper probes whose examples are the same for every model."""
        rng = np.random.default_rng(seed)

        def draw(examples: list[Example], count: int) -> list[Example]:
            if len(examples) <= count:
                return list(examples)
            return [examples[i] for i in sorted(rng.choice(len(examples), count, replace=False))]

        sizes = {"train": train, "dev": dev, "test": test}
        notes = [*self.notes, f"subset of at most {sizes} examples (seed {seed})"]
        return replace(self, **{n: draw(self.split(n), sizes[n]) for n in SPLITS}, notes=notes)

    def summary(self) -> dict:
        return {name: len(self.split(name)) for name in SPLITS}


def corpus_examples(corpus, task: str, split: str, label: Callable[[Any], tuple]) -> list[Example]:
    """The offline corpus's ``task`` examples of ``split``, labelled by ``label(record)``."""
    return [Example(r.id, str(corpus.audio_path(r)), label(r)) for r in corpus.split(task, split)]


def corpus_task(corpus, task: str, label: Callable[[Any], tuple]) -> TaskData:
    """All three splits of ``task`` from the offline corpus."""
    splits = {name: corpus_examples(corpus, task, name, label) for name in SPLITS}
    return TaskData(task, **splits, source=f"corpus {corpus.root}")


def majority_accuracy(train: list[Example], test: list[Example]) -> float:
    """Accuracy (%) of always answering the most frequent training label: chance level."""
    if not train or not test:
        return 0.0
    top = Counter(ex.label for ex in train).most_common(1)[0][0]
    return 100.0 * sum(ex.label == top for ex in test) / len(test)


def noise_clips(count: int, seed: int, seconds: float = 1.0) -> list[np.ndarray]:
    """``count`` reproducible clips of quiet background noise (white, pink or brown, at
    -70 to -35 dBFS RMS): the "silence" class of keyword spotting when a dataset has no
    recorded background noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    clips = []
    for _ in range(count):
        spectrum = np.fft.rfft(rng.standard_normal(n))
        slope = rng.choice([0.0, 0.5, 1.0])  # white, pink, brown: power ~ 1 / f^(2 slope)
        freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
        wave = np.fft.irfft(spectrum / freqs**slope, n)
        level = 10 ** (rng.uniform(-70.0, -35.0) / 20.0)
        wave = wave / (np.sqrt(np.mean(wave**2)) + 1e-12) * level
        clips.append(wave.astype(np.float32))
    return clips


def check_root(path: str | os.PathLike, what: str, *required: str) -> Path:
    """``path`` as a folder holding ``required`` entries, else a one-line DataError."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder ({what})")
    for name in required:
        if not (root / name).exists():
            raise DataError(f"{root}: not a {what} folder (no {name})")
    return root
