"""What feature extraction and the benchmark need of an encoder beyond its interface.

Anything :mod:`gendistiller.encoders` describes (a student, a teacher, an exported ONNX
model) produces hidden states here; :func:`load_feature_model` is the resolver
:func:`gendistiller.encoders.load_encoder` under its older name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from gendistiller.encoders.base import Encoder
from gendistiller.encoders.resolve import load_encoder
from gendistiller.errors import ConfigError

#: The older name of the encoder protocol.
FeatureModel = Encoder


def load_feature_model(spec: str | os.PathLike, device: str = "cpu") -> Encoder:
    """:func:`~gendistiller.encoders.load_encoder` (kept for callers of earlier releases)."""
    return load_encoder(spec, device=device)


def resolve_layers(layers: Sequence[int] | None, count: int) -> list[int]:
    """Hidden-state indices in ``0..count-1`` (negative ones count from the end); None: all."""
    if layers is None:
        return list(range(count))
    picked = []
    for layer in layers:
        if isinstance(layer, bool) or not isinstance(layer, int) or not -count <= layer < count:
            raise ConfigError(
                f"layers: {layer!r} is not a hidden-state index of this model (0..{count - 1})"
            )
        picked.append(layer % count)
    if not picked:
        raise ConfigError("layers: choose at least one hidden state")
    return picked


def model_device(model: Encoder) -> torch.device:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")
