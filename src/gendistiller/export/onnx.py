"""ONNX export (torch.export-based exporter) and an onnxruntime runner with the model interface.

A student's graph takes ``waveforms`` float32 ``[batch, samples]`` and ``lengths`` int64
``[batch]`` and returns ``hidden_state_0 .. hidden_state_K`` float32 ``[batch, frames, hidden]``
and ``frame_lengths`` int64 ``[batch]``; batch and time are dynamic, padded batches give the
same valid frames as PyTorch. A teacher's graph takes ``waveforms`` only (group-norm
front-ends must not see padding, see :mod:`gendistiller.teachers`). Facts a runtime needs
(the conv stack's geometry, minimum input, width, parameter count and the source model's
config) travel in the model's metadata, so :class:`OnnxModel` is an encoder like the model
it was exported from (:mod:`gendistiller.encoders`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gendistiller.encoders.base import EncoderOutput
from gendistiller.encoders.geometry import STANDARD, FrameGeometry
from gendistiller.errors import CheckpointError, one_line

WAVEFORMS, LENGTHS, FRAME_LENGTHS = "waveforms", "lengths", "frame_lengths"
#: Above this many bytes of weights, tensors go to a side file (protobuf's 2 GB limit).
EXTERNAL_DATA_BYTES = 1 << 30


def state_name(i: int) -> str:
    return f"hidden_state_{i}"


class _StudentGraph(nn.Module):
    def __init__(self, student: nn.Module):
        super().__init__()
        self.student = student

    def forward(self, waveforms: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        out = self.student(waveforms, lengths)
        return (*out.hidden_states, out.lengths)


class _TeacherGraph(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, waveforms: Tensor) -> tuple[Tensor, ...]:
        return tuple(self.model(waveforms, output_hidden_states=True).hidden_states)


def export_onnx(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write ``model`` (a student or a :class:`~gendistiller.teachers.Teacher`) to ``path``."""
    from gendistiller.students.base import StudentModel
    from gendistiller.teachers import Teacher

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    geometry, count = model.geometry, model.num_hidden_states
    stride, field = geometry.stride, geometry.receptive_field
    # Two frames at least: torch.export specialises a one-frame sequence.
    min_samples = field + stride
    if isinstance(model, StudentModel):
        graph = _StudentGraph(_folded(model))
        inputs, names = (WAVEFORMS, LENGTHS), [*map(state_name, range(count)), FRAME_LENGTHS]
    elif isinstance(model, Teacher):
        graph = _TeacherGraph(_folded(model.model))
        inputs, names = (WAVEFORMS,), [state_name(i) for i in range(count)]
    else:
        raise TypeError(f"cannot export {type(model).__name__}: expected a student or a Teacher")
    # A batch of two lengths, so neither the batch nor the time axis gets specialised.
    n = max(2 * min_samples, 16000)
    example = (torch.zeros(2, n), torch.tensor([n, n - stride - 1]))[: len(inputs)]
    batch, samples = torch.export.Dim("batch"), torch.export.Dim("samples", min=min_samples)
    shapes = {WAVEFORMS: {0: batch, 1: samples}, LENGTHS: {0: batch}}
    with _quiet():
        program = torch.onnx.export(
            graph.eval(),
            example,
            dynamo=True,
            input_names=list(inputs),
            output_names=names,
            dynamic_shapes={k: shapes[k] for k in inputs},
            verbose=False,
        )
    for node in program.model.graph.all_nodes():
        node.metadata_props.clear()  # per-node Python stack traces: most of a small file
    program.model.metadata_props.update(
        {
            "gendistiller_model_type": model.config.model_type,
            "num_hidden_states": str(count),
            "stride": str(stride),
            "receptive_field": str(field),
            "conv_kernel": json.dumps(list(geometry.kernels)),
            "conv_stride": json.dumps(list(geometry.strides)),
            "min_samples": str(min_samples),
            "sample_rate": "16000",
            "hidden_size": str(model.hidden_size),
            "parameters": str(model.parameter_count()),
            "config": model.config.to_json_string(use_diff=False),
        }
    )
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    program.save(path, external_data=weight_bytes > EXTERNAL_DATA_BYTES)
    return path


def _folded(model: nn.Module) -> nn.Module:
    """An eval-mode copy with weight-norm parametrisations baked into plain weights, so the
    exported graph holds the positional convolution's weight as a constant (quantisable).

    The copy is built afresh rather than deep-copied: a deep copy shares the parametrised
    module's generated class with the original, and removing the parametrisation edits
    that class, which would break the original model."""
    fresh = type(model)(model.config)
    fresh.load_state_dict(model.state_dict())
    fresh.eval()
    for sub in fresh.modules():
        if parametrize.is_parametrized(sub):
            for name in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
    return fresh


@contextlib.contextmanager
def _quiet():
    # The exporter narrates each step and warns about torchvision ops we never use.
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


#: Kept for users of earlier releases: an ONNX model returns an :class:`EncoderOutput`.
OnnxOutput = EncoderOutput


class OnnxModel:
    """An exported model run by onnxruntime, called like the PyTorch one (an encoder).

    ``threads``: onnxruntime's intra-op threads (None: its default, one per core).
    """

    kind = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int | None = None, name: str = ""):
        import onnxruntime as ort

        self.path = Path(path)
        self.name = name or str(path)
        if not self.path.is_file():
            raise CheckpointError(f"{self.path}: no such ONNX file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own types for unreadable models
            raise CheckpointError(
                f"{self.path}: not a loadable ONNX model ({one_line(err)})"
            ) from None
        self.meta = meta = self.session.get_modelmeta().custom_metadata_map
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = self.session.get_outputs()
        self.state_names = [o.name for o in outputs if o.name.startswith("hidden_state_")]
        if WAVEFORMS not in self.input_names or not self.state_names:
            raise CheckpointError(
                f"{self.path}: not a gendistiller export (inputs {self.input_names})"
            )
        self.geometry = _geometry(meta)
        self.min_samples = int(meta.get("min_samples", self.geometry.num_samples(2)))
        self.config = _config(meta)
        width = outputs[[o.name for o in outputs].index(self.state_names[0])].shape[-1]
        self.hidden_size = int(meta.get("hidden_size", width if isinstance(width, int) else 0))
        #: The source model's kind: "student" takes padded batches, "teacher" does not.
        self.kind = "student" if LENGTHS in self.input_names else "teacher"

    @property
    def num_hidden_states(self) -> int:
        return len(self.state_names)

    def parameter_count(self, training: bool = False) -> int:
        """The source model's inference parameters (recorded at export)."""
        return int(self.meta.get("parameters", 0))

    def __call__(
        self, waveforms: Tensor | np.ndarray, lengths: Tensor | np.ndarray | None = None
    ) -> EncoderOutput:
        x = np.ascontiguousarray(np.asarray(waveforms, dtype=np.float32))
        if x.ndim != 2:
            raise ValueError(f"waveforms must be [batch, samples], got shape {x.shape}")
        batch, n = x.shape
        n_valid = (
            np.full(batch, n, dtype=np.int64)
            if lengths is None
            else np.asarray(lengths, dtype=np.int64)
        )
        frames = self.geometry.output_lengths(torch.from_numpy(n_valid)).numpy()
        feeds = {WAVEFORMS: x}
        if LENGTHS in self.input_names:
            if n < self.min_samples:  # padding is exact for students: it is masked out
                x = np.pad(x, ((0, 0), (0, self.min_samples - n)))
                feeds[WAVEFORMS] = x
            feeds[LENGTHS] = n_valid
        elif (n_valid != n).any():
            raise ValueError(
                f"{self.path.name} takes no lengths: run utterances of one length per batch"
            )
        states = self.session.run(self.state_names, feeds)
        t = int(frames.max()) if batch else 0
        return EncoderOutput([torch.from_numpy(s[:, :t]) for s in states], torch.from_numpy(frames))


def _geometry(meta: dict[str, str]) -> FrameGeometry:
    if "conv_kernel" in meta and "conv_stride" in meta:
        return FrameGeometry(json.loads(meta["conv_kernel"]), json.loads(meta["conv_stride"]))
    # Older exports record only the stride and field: one layer gives the same frames.
    field, stride = meta.get("receptive_field"), meta.get("stride")
    if field is None or stride is None:
        return STANDARD
    return FrameGeometry.single(int(field), int(stride))


def _config(meta: dict[str, str]):
    """The source model's transformers config, when the export recorded it."""
    if "config" not in meta:
        return None
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    import gendistiller.students.registry  # noqa: F401  (registers the student configs)

    raw = json.loads(meta["config"])
    return CONFIG_MAPPING[raw["model_type"]].from_dict(raw)
