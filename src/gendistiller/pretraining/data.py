"""Training batches for masked prediction: frame-aligned crops with their cluster labels.

The whole (small) corpus sits in memory. Batch ``step`` is a pure function of
``(seed, step)``: which utterances, where the crops start, and which frames are masked,
so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset

from gendistiller.encoders.geometry import STANDARD

HOP = STANDARD.stride


def frames_for(samples: int) -> int:
    """Frames of the teacher's (standard) conv encoder, and of its MFCC targets."""
    return STANDARD.num_frames(samples)


def span_mask(rng: np.random.Generator, frames: int, prob: float, length: int) -> np.ndarray:
    """HuBERT/wav2vec 2.0 span masking: ``prob * frames / length`` spans of ``length`` frames."""
    length = min(length, frames)
    spans = max(1, int(prob * frames / length + rng.random()))
    starts = rng.choice(frames - length + 1, size=min(spans, frames - length + 1), replace=False)
    mask = np.zeros(frames, dtype=bool)
    for s in starts:
        mask[s : s + length] = True
    return mask


class MaskedCrops(IterableDataset):
    def __init__(
        self,
        waves: Sequence[np.ndarray],
        labels: Sequence[np.ndarray],
        *,
        batch_size: int,
        crop_samples: int,
        mask_prob: float,
        mask_length: int,
        seed: int,
        steps: int,
        start: int = 0,
    ):
        self.crop_frames = frames_for(crop_samples)
        self.crop_samples = STANDARD.num_samples(self.crop_frames)  # exactly whole frames
        keep = [i for i, lab in enumerate(labels) if len(lab) >= self.crop_frames]
        if not keep:
            raise ValueError(f"no utterance is at least {self.crop_samples} samples long")
        self.waves = [waves[i] for i in keep]
        self.labels = [labels[i] for i in keep]
        self.batch_size = batch_size
        self.mask_prob = mask_prob
        self.mask_length = mask_length
        self.seed = seed
        self.steps = steps
        self.start = start

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        chosen = rng.choice(
            len(self.waves), size=self.batch_size, replace=len(self.waves) < self.batch_size
        )
        waves, labels, masks = [], [], []
        for i in chosen:
            first = int(rng.integers(0, len(self.labels[i]) - self.crop_frames + 1))
            waves.append(self.waves[i][first * HOP : first * HOP + self.crop_samples])
            labels.append(self.labels[i][first : first + self.crop_frames])
            masks.append(span_mask(rng, self.crop_frames, self.mask_prob, self.mask_length))
        return {
            "waveforms": torch.from_numpy(np.stack(waves)),
            "labels": torch.from_numpy(np.stack(labels)),
            "mask": torch.from_numpy(np.stack(masks)),
            "step": torch.tensor(step),
        }

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for step in range(self.start, self.steps):
            yield self.batch(step)
