"""Fixtures for training tests: a small folder of speech-like audio and tiny-run overrides."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import soundfile as sf

SR = 16_000
# (F1, F2, F3) of a few vowels, Hz
VOWELS = [
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (640, 1190, 2390),
]


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Voiced syllables: a gliding-pitch harmonic source shaped by vowel formants, with
    syllable envelopes, short pauses and a little breath noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n, dtype=np.float64)
    pos = 0
    f0_base = rng.uniform(90, 220)
    while pos < n:
        length = min(int(rng.uniform(0.12, 0.3) * SR), n - pos)
        t = np.arange(length) / SR
        f0 = f0_base * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6)))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        formants = VOWELS[rng.integers(len(VOWELS))]
        syllable = np.zeros(length)
        for h in range(1, 40):
            freq = h * f0.mean()
            if freq > 7000:
                break
            gain = sum(1.0 / (1.0 + ((freq - f) / (60 + 0.1 * f)) ** 2) for f in formants)
            syllable += gain / h**0.5 * np.sin(h * phase)
        envelope = np.sin(np.pi * np.arange(length) / length) ** 2
        out[pos : pos + length] = envelope * syllable
        pos += length + int(rng.uniform(0.0, 0.08) * SR)
    out += 0.02 * rng.standard_normal(n)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    for i in range(16):
        sf.write(root / f"utt{i:02d}.flac", speech_like(rng.uniform(0.8, 1.6), seed=i), SR)
    return root


@pytest.fixture(scope="session")
def held_out_speech() -> np.ndarray:
    """One second of speech-like audio that is not among ``speech_dir``'s files."""
    return speech_like(1.0, seed=99)


@pytest.fixture
def tiny_args(speech_dir, tmp_path, monkeypatch):
    """Overrides for a fast `tiny` run on the speech folder, in a fresh run folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def make(*extra: str, run_dir: Path | None = None) -> list[str]:
        return [
            f"data.root={speech_dir}",
            f"run.dir={run_dir or tmp_path / 'run'}",
            "data.max_samples=6000",
            "data.batch_size=2",
            "trainer.progress_bar=false",
            *extra,
        ]

    return make


def _same_students(a, b) -> bool:
    import torch

    import gendistiller

    wa, wb = (gendistiller.load_student(r.student_dir).state_dict() for r in (a, b))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture
def same_students():
    """``same_students(a, b)``: whether the students two runs (``RunResult``) exported have
    the same weights, bit for bit."""
    return _same_students


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared, busy machine
    OpenMP threads spin-wait for each other: one thread is faster and steadier."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class SimulatedKill(RuntimeError):
    """A kill of the process, raised by a test (Lightning turns a KeyboardInterrupt into
    sys.exit, which would end the test session)."""


class KillAt(L.Callback):
    """Kills the run right after optimiser step ``step`` (of the fits of LightningModule
    class ``module`` only, if given: a run may fit a front-end stage before the main one)."""

    error = SimulatedKill

    def __init__(self, step: int, module: type | None = None):
        self.step = step
        self.module = module

    def on_train_batch_end(self, trainer, pl_module, *args):
        if self.module is not None and type(pl_module) is not self.module:
            return
        if trainer.global_step == self.step:
            raise SimulatedKill(f"killed at step {self.step}")


@pytest.fixture
def kill_at():
    """``kill_at(step, module=None)``: a callback that kills the run after that step (of
    that module's fits) (``kill_at.error``)."""
    return KillAt
