"""``load_encoder(spec)``: the one way from a spec string to an encoder.

Every command, the Python API and the benchmarks resolve models here. The grammar, in the
order it is tried (docs/encoders.md):

- ``embedded``: the small HuBERT teacher shipped in the package;
- ``random:TYPE`` / ``random:TYPE-tiny``: a teacher with random weights from ``seed``;
- ``PATH.onnx``: an exported ONNX model, run by onnxruntime;
- an existing folder: a saved student (``config.json`` of a student type), a run folder
  (its ``student/`` subfolder), or a teacher's ``save_pretrained`` folder;
- a student preset name (``gendistiller-base``, ...): random weights from ``seed``;
- anything else that looks like a path: "no such folder";
- otherwise a hub id (local cache first, then the hub).

Loaders are imported when a spec needs them, so this module stays below the teachers,
students and export packages it dispatches to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from gendistiller.encoders.base import Encoder
from gendistiller.encoders.spec import (
    EMBEDDED,
    ONNX_SUFFIX,
    RANDOM_PREFIX,
    RUN_STUDENT_DIR,
    looks_like_path,
    missing,
)
from gendistiller.errors import CheckpointError


def load_encoder(
    spec: str | os.PathLike, *, seed: int = 0, device: str | torch.device = "cpu"
) -> Encoder:
    """The encoder ``spec`` names (see the module docstring), frozen, on ``device``.

    ``seed`` fixes the random weights of ``random:`` teachers and student presets; the
    caller's random state is left as it was. ``device="meta"`` builds a student's shape
    without its weights (for sizes)."""
    text = str(spec)
    if text == EMBEDDED or text.startswith(RANDOM_PREFIX):
        return _teacher(text, seed, device)
    path = Path(text).expanduser()
    if text.lower().endswith(ONNX_SUFFIX):
        from gendistiller.export.onnx import OnnxModel

        return OnnxModel(path, name=text)
    if path.exists():
        return _from_path(text, path, device)
    from gendistiller.students.presets import PRESETS

    if text in PRESETS:
        return _preset(text, seed, device)
    if looks_like_path(text):
        raise CheckpointError(missing(text))
    return _teacher(text, seed, device)


def saved_model_folder(path: Path) -> tuple[Path, str]:
    """``(folder holding config.json, its model_type)`` for a model folder or a run folder."""
    for folder in (path, path / RUN_STUDENT_DIR):
        config = folder / "config.json"
        if config.is_file():
            try:
                raw = json.loads(config.read_text(encoding="utf-8"))
                return folder, str(raw.get("model_type", ""))
            except (OSError, ValueError, AttributeError) as err:
                raise CheckpointError(f"{config}: not readable JSON ({err})") from None
    raise CheckpointError(
        f"{path}: no config.json (nor {RUN_STUDENT_DIR}/config.json): not a saved model folder"
    )


def _from_path(text: str, path: Path, device) -> Encoder:
    from gendistiller.students.io import load_student
    from gendistiller.students.registry import STUDENT_KINDS

    if not path.is_dir():  # a stray file: load_student says why it is refused
        return load_student(path, device=device)
    folder, model_type = saved_model_folder(path)
    if model_type in STUDENT_KINDS:
        if _is_meta(device):
            from gendistiller.students.io import read_config

            return _meta_student(read_config(folder), text)
        model = load_student(folder, device=device)
        model.name = text
        return model
    return _teacher(str(folder), 0, device, name=text)


def _preset(name: str, seed: int, device) -> Encoder:
    from gendistiller.students.io import build_student

    if _is_meta(device):
        return _meta_student(name, name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_student(name)
    model.name = name
    return model.to(device).eval()


def _teacher(text: str, seed: int, device, name: str | None = None) -> Encoder:
    from gendistiller.teachers import load_teacher

    teacher = load_teacher(text, seed=seed).to(device)
    if name is not None:
        teacher.name = name
    return teacher


def _is_meta(device) -> bool:
    return torch.device(device).type == "meta"


def _meta_student(config, name: str) -> Encoder:
    from gendistiller.students.io import build_student

    with torch.device("meta"):
        model = build_student(config)
    model.name = name
    return model
