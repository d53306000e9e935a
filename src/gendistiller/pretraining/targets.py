"""Discrete targets for HuBERT-style pretraining: k-means clusters of frame features.

Iteration 1 clusters MFCCs (13 coefficients + deltas + delta-deltas, as HuBERT's first
iteration); a later iteration may cluster a layer of the model itself. Frames are cut
exactly like the encoder's: a 400-sample window every 320 samples, so that frame t of the
targets is frame t of the model, ``floor((n - 400) / 320) + 1`` frames for n samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from scipy.fft import dct
from sklearn.cluster import MiniBatchKMeans
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

from gendistiller.audio import SAMPLE_RATE
from gendistiller.encoders.geometry import STANDARD

# One MFCC frame per frame of the teacher's (standard) conv encoder: same window and hop.
WINDOW = STANDARD.receptive_field
HOP = STANDARD.stride
N_FFT = 512
N_MELS = 40
N_MFCC = 13


@lru_cache(maxsize=1)
def _filters() -> tuple[np.ndarray, np.ndarray]:
    window = window_function(WINDOW, "hann")
    mel = mel_filter_bank(
        N_FFT // 2 + 1, N_MELS, 20.0, SAMPLE_RATE / 2, SAMPLE_RATE, mel_scale="htk"
    )
    return window, mel


def mfcc(wave: np.ndarray) -> np.ndarray:
    """``[frames, 39]`` MFCC + delta + delta-delta of a 16 kHz waveform."""
    window, mel = _filters()
    logmel = spectrogram(
        np.asarray(wave, dtype=np.float32),
        window,
        frame_length=WINDOW,
        hop_length=HOP,
        fft_length=N_FFT,
        power=2.0,
        center=False,
        mel_filters=mel,
        log_mel="log",
        preemphasis=0.97,
    )  # [n_mels, frames]
    ceps = dct(logmel, type=2, axis=0, norm="ortho")[:N_MFCC].T  # [frames, 13]
    d1 = _delta(ceps)
    return np.concatenate([ceps, d1, _delta(d1)], axis=1).astype(np.float32)


def _delta(x: np.ndarray) -> np.ndarray:
    if x.shape[0] < 2:
        return np.zeros_like(x)
    return np.gradient(x, axis=0)


def fit_kmeans(
    features: np.ndarray, k: int, seed: int = 0, max_frames: int = 200_000
) -> np.ndarray:
    """``[k, dim]`` centres of mini-batch k-means (as in HuBERT's recipe), fitted on at most
    ``max_frames`` frames sampled with ``seed``."""
    rng = np.random.default_rng(seed)
    if len(features) > max_frames:
        features = features[rng.choice(len(features), max_frames, replace=False)]
    km = MiniBatchKMeans(
        n_clusters=k,
        random_state=seed,
        batch_size=10_000,
        n_init=3,
        max_no_improvement=50,
        init="k-means++",
    )
    return km.fit(features).cluster_centers_.astype(np.float32)


def assign(centers: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every frame."""
    dist = torch.cdist(
        torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)),
        torch.from_numpy(centers),
    )
    return dist.argmin(dim=1).numpy().astype(np.int64)


@dataclass
class Codebook:
    """k-means centres in a (possibly standardised) feature space, saved with that scaling
    so that a resumed run assigns exactly the same targets."""

    centers: np.ndarray  # [k, dim], in the scaled space
    mean: np.ndarray  # [dim]
    std: np.ndarray  # [dim]

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        k: int,
        *,
        seed: int = 0,
        max_frames: int = 200_000,
        standardize: bool = True,
    ) -> Codebook:
        dim = features.shape[1]
        if standardize:
            mean = features.mean(axis=0).astype(np.float32)
            std = np.maximum(features.std(axis=0), 1e-5).astype(np.float32)
        else:
            mean, std = np.zeros(dim, np.float32), np.ones(dim, np.float32)
        centers = fit_kmeans((features - mean) / std, k, seed, max_frames)
        return cls(centers, mean, std)

    def assign(self, features: np.ndarray) -> np.ndarray:
        return assign(self.centers, (features - self.mean) / self.std)

    def save(self, path: Path) -> None:
        save_file({"centers": self.centers, "mean": self.mean, "std": self.std}, str(path))

    @classmethod
    def load(cls, path: Path) -> Codebook:
        arrays = load_file(str(path))
        return cls(arrays["centers"], arrays["mean"], arrays["std"])
