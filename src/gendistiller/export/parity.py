"""Parity of an exported model with its source: per-layer agreement of hidden states over valid
frames (distillation fidelity, student against teacher, is :mod:`gendistiller.evaluation.fidelity`).

Used for ONNX parity (onnxruntime against PyTorch), int8 fidelity (against fp32) and the
inference benchmark. Inputs are a deterministic speech-like test signal, so every check
and every benchmark run sees the same audio without needing a corpus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from gendistiller.audio import SAMPLE_RATE
from gendistiller.students.components import lengths_to_mask


@dataclass
class LayerFidelity:
    layer: int
    cosine: float  # mean over frames of the per-frame cosine similarity
    max_abs_diff: float


@dataclass
class ParityReport:
    seconds: list[float]
    layers: list[LayerFidelity] = field(default_factory=list)

    @property
    def min_cosine(self) -> float:
        return min(layer.cosine for layer in self.layers)

    @property
    def max_abs_diff(self) -> float:
        return max(layer.max_abs_diff for layer in self.layers)

    def to_dict(self) -> dict:
        return {
            "seconds": self.seconds,
            "min_cosine": self.min_cosine,
            "max_abs_diff": self.max_abs_diff,
            "layers": [asdict(layer) for layer in self.layers],
        }

    def summary(self) -> str:
        per_layer = ", ".join(f"{x.layer}: {x.cosine:.6f}" for x in self.layers)
        return (
            f"max |diff| {self.max_abs_diff:.2e}, min cosine {self.min_cosine:.6f} "
            f"(per layer {per_layer}) on {len(self.seconds)} utterances of "
            f"{', '.join(f'{s:.1f}' for s in self.seconds)} s"
        )


def synthetic_speech(num_samples: int, seed: int = 0) -> np.ndarray:
    """Deterministic speech-like audio: a voiced tone with a wandering pitch and a few
    harmonics, syllable-rate loudness changes, breath noise; peak about 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / SAMPLE_RATE
    pitch = 110 + 60 * rng.random() + 30 * np.sin(2 * np.pi * (0.3 + 0.4 * rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * (3 + 2 * rng.random()) * t) ** 2
    wave = 0.25 * envelope * voiced + 0.02 * rng.standard_normal(num_samples)
    return wave.astype(np.float32)


def synthetic_batch(seconds: list[float], seed: int = 0) -> tuple[Tensor, Tensor]:
    """A zero-padded batch of :func:`synthetic_speech` utterances of the given durations."""
    lengths = torch.tensor([max(1, round(s * SAMPLE_RATE)) for s in seconds])
    waves = torch.zeros(len(seconds), int(lengths.max()))
    for i, n in enumerate(lengths.tolist()):
        waves[i, :n] = torch.from_numpy(synthetic_speech(n, seed + i))
    return waves, lengths


def random_seconds(count: int, low: float = 1.0, high: float = 20.0, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(float(s), 2) for s in rng.uniform(low, high, size=count)]


def cosine_per_frame(a: Tensor, b: Tensor) -> Tensor:
    return torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1, eps=1e-12)


@torch.no_grad()
def compare(reference, candidate, waveforms: Tensor, lengths: Tensor) -> ParityReport:
    """Run both models on the batch and compare their hidden states over valid frames."""
    ref = reference(waveforms, lengths)
    cand = candidate(waveforms, lengths)
    if len(ref.hidden_states) != len(cand.hidden_states):
        raise ValueError(
            f"the models give {len(ref.hidden_states)} and {len(cand.hidden_states)} hidden states"
        )
    frames = ref.lengths.cpu()
    report = ParityReport(seconds=[n / SAMPLE_RATE for n in lengths.tolist()])
    for i, (r, c) in enumerate(zip(ref.hidden_states, cand.hidden_states, strict=True)):
        r, c = r.detach().cpu().float(), c.detach().cpu().float()
        if r.shape != c.shape:
            raise ValueError(f"hidden state {i} has shape {tuple(r.shape)} and {tuple(c.shape)}")
        mask = lengths_to_mask(frames, r.shape[1])
        report.layers.append(
            LayerFidelity(
                layer=i,
                cosine=float(cosine_per_frame(r, c)[mask].mean()),
                max_abs_diff=float((r - c).abs()[mask].max()),
            )
        )
    return report
