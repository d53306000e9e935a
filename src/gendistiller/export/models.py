"""What produces hidden states from a waveform: a student, a teacher, or an exported ONNX file.

All three are called the same way, ``model(waveforms [B, N], lengths [B]) -> output`` with
``output.hidden_states`` (list of ``[B, T, D]``) and ``output.lengths`` (valid frames), so
feature extraction and the benchmark treat them alike. :func:`load_feature_model` turns a
command-line spec into one of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from gendistiller.errors import CheckpointError, ConfigError


class FeatureModel(Protocol):
    def __call__(self, waveforms: Tensor, lengths: Tensor | None = None) -> Any: ...


def load_feature_model(spec: str | os.PathLike, device: str = "cpu") -> FeatureModel:
    """A model from a spec: an ``.onnx`` file, a saved student folder or preset name, or
    anything :func:`gendistiller.load_teacher` accepts (hub id, teacher folder, ``random:TYPE``)."""
    from gendistiller.students import PRESETS, load_student
    from gendistiller.students.presets import CONFIG_TYPES
    from gendistiller.teachers import load_teacher

    text = str(spec)
    path = Path(text).expanduser()
    if not path.exists() and str(path.parent) not in (".", "") and path.parent.is_dir():
        # "runs/x/student" with runs/x present is a mistyped path, not a hub id.
        raise CheckpointError(f"{text}: no such file or folder")
    if text.endswith(".onnx"):
        from gendistiller.export.onnx import OnnxModel

        return OnnxModel(path)
    if (text in PRESETS and not path.exists()) or _saved_model_type(path) in CONFIG_TYPES:
        return load_student(text, device=device)
    return load_teacher(text).to(device)


def frame_geometry(model: FeatureModel) -> tuple[int, int]:
    """``(stride, receptive_field)`` in samples: frame t sees samples [t*stride, t*stride + field)."""
    geometry = getattr(model, "geometry", None)
    if geometry is not None:  # OnnxModel
        return geometry
    config = model.config
    field, jump = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        field += (kernel - 1) * jump
        jump *= stride
    return jump, field


def num_frames(model: FeatureModel, num_samples: int) -> int:
    """Frames of an input of ``num_samples`` samples (0 when shorter than one frame)."""
    stride, field = frame_geometry(model)
    return max(0, (num_samples - field) // stride + 1)


def num_hidden_states(model: FeatureModel) -> int:
    """How many hidden states the model returns (teachers: layers + 1)."""
    count = getattr(model, "num_hidden_states", None)
    return int(count) if count is not None else int(model.num_layers) + 1


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


def model_device(model: FeatureModel) -> torch.device:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")


def _saved_model_type(path: Path) -> str | None:
    try:
        return json.loads((path / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
