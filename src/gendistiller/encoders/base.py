"""The one encoder interface: anything that turns waveforms into hidden states.

Teachers (:class:`gendistiller.teachers.Teacher`), every student
(:class:`gendistiller.students.StudentModel`) and exported ONNX models
(:class:`gendistiller.export.onnx.OnnxModel`) offer the members of :class:`Encoder` and
return an :class:`EncoderOutput`, so evaluation, export, feature extraction and the
benchmarks take any of them. docs/encoders.md describes the interface and the specs
:func:`gendistiller.encoders.load_encoder` resolves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from gendistiller.encoders.geometry import FrameGeometry, lengths_to_mask


@dataclass
class EncoderOutput:
    """``hidden_states``: every state exposed to downstream tasks, each ``[B, T, D]``,
    zero past each utterance's valid frames; ``lengths``: valid frames ``[B]``;
    ``predictions``: a student's estimates of its teacher's ``target_layers``, one
    ``[B, T, D]`` each (None for encoders that predict nothing)."""

    hidden_states: list[Tensor]
    lengths: Tensor
    predictions: list[Tensor] | None = None

    @property
    def last_hidden_state(self) -> Tensor:
        return self.hidden_states[-1]

    def zero_padding(self) -> EncoderOutput:
        """The same output with every frame past an utterance's length set to zero."""
        mask = lengths_to_mask(self.lengths, self.hidden_states[0].shape[1])[..., None]

        def zero(states: list[Tensor]) -> list[Tensor]:
            return [s * mask.to(device=s.device, dtype=s.dtype) for s in states]

        predictions = None if self.predictions is None else zero(self.predictions)
        return EncoderOutput(zero(self.hidden_states), self.lengths, predictions)


@runtime_checkable
class Encoder(Protocol):
    """What every encoder offers.

    ``encoder(waveforms [B, N] float, lengths [B] | None) -> EncoderOutput`` (lengths in
    samples; None: every sample valid); ``name``: the spec it was loaded from (or its
    type); ``config``: its transformers-style config; ``geometry``: its frame geometry;
    ``hidden_size``: the width of every state; ``num_hidden_states``: how many states it
    returns; ``parameter_count(training=False)``: parameters used at inference, or with
    ``training=True`` also the training-only ones (a student's prediction heads).
    """

    name: str

    @property
    def config(self) -> Any: ...

    @property
    def geometry(self) -> FrameGeometry: ...

    @property
    def hidden_size(self) -> int: ...

    @property
    def num_hidden_states(self) -> int: ...

    def parameter_count(self, training: bool = False) -> int: ...

    def __call__(self, waveforms: Tensor, lengths: Tensor | None = None) -> EncoderOutput: ...


def fingerprint(encoder: Encoder) -> str:
    """A digest (16 hex digits) of an encoder's config and every weight: equal digests,
    equal outputs. What caches of an encoder's outputs are keyed by (probe features, the
    teacher cache of training). An encoder that is not a module (an ONNX file) is
    digested by its file's bytes."""
    config = encoder.config.to_dict() if encoder.config is not None else {}
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode())
    if not isinstance(encoder, nn.Module):
        digest.update(Path(encoder.path).read_bytes())
        return digest.hexdigest()[:16]
    for key, value in sorted(encoder.state_dict().items()):
        digest.update(key.encode())
        digest.update(
            value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        )
    return digest.hexdigest()[:16]
