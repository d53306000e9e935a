"""Saving and loading students: ``config.json`` + ``model.safetensors``, nothing pickled.

``load_student`` is strict: the format version must be one this package reads, every
weight must be present with the right shape, and no unexpected weight may be left over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file

from gendistiller.errors import CheckpointError, one_line
from gendistiller.students.base import StudentModel
from gendistiller.students.config import FORMAT_VERSION, StudentConfig
from gendistiller.students.presets import get_preset
from gendistiller.students.registry import STUDENT_KINDS, model_class

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle")
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def build_student(config: StudentConfig | str, **overrides) -> StudentModel:
    """A randomly initialised student from a config or a preset name."""
    if isinstance(config, str):
        config = get_preset(config, **overrides)
    elif overrides:
        raise TypeError("overrides are only accepted with a preset name")
    return model_class(config)(config)


def read_config(path: str | os.PathLike) -> StudentConfig:
    """The student config saved in folder ``path``, format version checked."""
    folder = Path(path)
    if folder.is_file():
        if folder.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{folder}: refusing to load a pickled file ({folder.suffix}): it can run arbitrary code. "
                f"Pass a folder with {CONFIG_NAME} + {WEIGHTS_NAME} (written by save_pretrained)"
            )
        raise CheckpointError(f"{folder}: expected a folder with {CONFIG_NAME} and {WEIGHTS_NAME}")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such folder")
    config_file = folder / CONFIG_NAME
    if not config_file.is_file():
        raise CheckpointError(f"{folder}: not a saved student (no {CONFIG_NAME})")
    try:
        raw = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{config_file}: not valid JSON ({err})") from None
    model_type = raw.get("model_type")
    if model_type not in STUDENT_KINDS:
        raise CheckpointError(
            f"{config_file}: model_type {model_type!r} is not a gendistiller student "
            f"(expected one of {', '.join(STUDENT_KINDS)})"
        )
    version = raw.get("gendistiller_format")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{config_file}: format version {version!r} is not supported by this gendistiller "
            f"(reads version {FORMAT_VERSION}); use the gendistiller release that wrote it"
        )
    try:
        return STUDENT_KINDS[model_type][0].from_dict(raw)
    except Exception as err:  # strict validation of the saved values
        raise CheckpointError(f"{config_file}: invalid config ({one_line(err)})") from None


def load_student(path: str | os.PathLike, device: str | torch.device = "cpu") -> StudentModel:
    """Load a student saved by ``save_pretrained`` in folder ``path``.

    Strict and bit-exact: every tensor in ``model.safetensors`` must match the model.
    (:func:`gendistiller.encoders.load_encoder` also takes presets and run folders.)
    """
    folder = Path(path)
    config = read_config(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        hint = f" (found {', '.join(pickled)}: pickled weights are refused)" if pickled else ""
        raise CheckpointError(f"{folder}: no {WEIGHTS_NAME}{hint}")
    try:
        state = load_file(str(weights), device=str(device))
    except Exception as err:
        raise CheckpointError(
            f"{weights}: not a readable safetensors file ({one_line(err)})"
        ) from None
    model = build_student(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"{weights}: weights do not match the config: {what}")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f"{weights}: {key} has shape {tuple(value.shape)}, config expects {tuple(expected[key].shape)}"
            )
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
