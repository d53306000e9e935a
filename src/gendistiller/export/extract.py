"""Hidden states of audio of any length, computed chunk by chunk at bounded memory.

Attention costs grow with the square of the input length, so hours of audio cannot go
through a model in one pass. :func:`extract` cuts the frame axis into chunks of
``chunk_seconds``, runs each with ``context_seconds`` of audio on either side, and keeps
only the chunk's own frames. Chunks start on multiples of the 320-sample stride, so frame
``t`` of the result is frame ``t`` of a whole-input pass (and, for a student that merges
``transformer_stride`` frames inside, on multiples of that many frames, so that it merges
the same frames in both). Away from chunk borders (by more
than the context) the two agree closely; they cannot agree exactly, because attention and
the first layer's normalisation see the whole input in one pass and a chunk with its
context in the other (``docs/export.md`` gives measured differences).

Memory is bounded by one chunk's activations plus the result; pass ``out`` (e.g. a
``numpy.lib.format.open_memmap``) to keep the result on disk. 16 kHz files are read chunk
by chunk; other rates are decoded and resampled whole (about 230 MB per hour).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gendistiller.audio import SAMPLE_RATE, AudioError, audio_info, load_audio, load_audio_crop
from gendistiller.encoders.base import Encoder
from gendistiller.encoders.geometry import FrameGeometry
from gendistiller.encoders.resolve import load_encoder
from gendistiller.errors import ConfigError
from gendistiller.export.models import model_device, resolve_layers

Audio = str | os.PathLike | np.ndarray | torch.Tensor


@dataclass(frozen=True)
class Chunk:
    """Frames ``[first, last)`` of the result, computed from samples ``[start, stop)`` whose
    first frame is frame ``offset`` of the whole input."""

    first: int
    last: int
    start: int
    stop: int

    def offset(self, stride: int) -> int:
        return self.start // stride


def plan_chunks(
    num_samples: int,
    geometry: FrameGeometry,
    chunk_frames: int,
    context_frames: int,
    align: int = 1,
) -> list[Chunk]:
    """Cut ``num_samples`` samples into chunks of ``chunk_frames`` frames plus context,
    every chunk and its context starting on a multiple of ``align`` frames."""
    total = geometry.num_frames(num_samples)
    chunk_frames = -(-chunk_frames // align) * align
    chunks = []
    for first in range(0, total, chunk_frames):
        last = min(total, first + chunk_frames)
        lo = max(0, first - context_frames) // align * align
        hi = min(total, last + context_frames)
        chunks.append(Chunk(first, last, lo * geometry.stride, geometry.num_samples(hi)))
    return chunks


class _Source:
    """Samples of an array or a file, by range."""

    def __init__(self, audio: Audio):
        self.path: str | None = None
        self.wave: np.ndarray | None = None
        if isinstance(audio, (str, os.PathLike)):
            self.path = str(audio)
            info = audio_info(self.path)
            if info.sample_rate == SAMPLE_RATE:
                self.num_samples = info.frames
                return
            audio = load_audio(self.path, check=False)
        wave = (
            audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        )
        wave = wave.squeeze(0) if wave.ndim == 2 and wave.shape[0] == 1 else wave
        if wave.ndim != 1:
            raise ValueError(
                f"audio must be a mono waveform [samples] at 16 kHz, got shape {wave.shape}"
            )
        self.wave = wave.astype(np.float32, copy=False)
        self.num_samples = int(wave.shape[0])

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.wave is not None:
            wave = self.wave[start:stop]
        else:
            wave = load_audio_crop(self.path, start, stop - start)
        if not np.isfinite(wave).all():
            raise AudioError(self.path or "<array>", "contains NaN or infinite samples")
        return wave


class ChunkedStates:
    """The hidden states of ``audio``, produced chunk by chunk when iterated.

    ``num_frames`` is known up front (to preallocate); iterating yields
    ``(first frame, states [len(layers), frames, hidden])`` in order.
    """

    def __init__(
        self,
        audio: Audio,
        model: Encoder | str | os.PathLike,
        layers: Sequence[int] | None = None,
        *,
        chunk_seconds: float = 20.0,
        context_seconds: float = 2.0,
    ):
        if not chunk_seconds > 0 or not context_seconds >= 0:
            raise ConfigError(
                f"chunk_seconds must be > 0 and context_seconds >= 0, got {chunk_seconds} and {context_seconds}"
            )
        self.model = load_encoder(model) if isinstance(model, (str, os.PathLike)) else model
        #: The hidden states kept, as indices ``0..K``.
        self.layers = resolve_layers(layers, self.model.num_hidden_states)
        self.source = _Source(audio)
        geometry = self.model.geometry
        self.stride, field = geometry.stride, geometry.receptive_field
        if self.source.num_samples < field:
            raise AudioError(
                self.source.path or "<array>",
                f"too short: {self.source.num_samples} samples at {SAMPLE_RATE} Hz, need at least {field}",
            )
        chunk_frames = max(1, round(chunk_seconds * SAMPLE_RATE / self.stride))
        context_frames = math.ceil(context_seconds * SAMPLE_RATE / self.stride)
        # A student merging frames inside (transformer_stride) must merge the same ones.
        align = int(getattr(self.model.config, "transformer_stride", 1) or 1)
        self.chunks = plan_chunks(
            self.source.num_samples, geometry, chunk_frames, context_frames, align
        )
        self.num_frames = self.chunks[-1].last

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        model = self.model
        training = isinstance(model, torch.nn.Module) and model.training
        if training:
            model.eval()
        device = model_device(model)
        try:
            for chunk in self.chunks:
                wave = torch.from_numpy(
                    np.ascontiguousarray(self.source.read(chunk.start, chunk.stop))
                )
                with torch.no_grad():
                    lengths = torch.tensor([wave.shape[0]], device=device)
                    states = model(wave[None].to(device), lengths).hidden_states
                lo = chunk.first - chunk.offset(self.stride)
                part = [states[i][0, lo : lo + chunk.last - chunk.first] for i in self.layers]
                yield chunk.first, torch.stack(part).float().cpu().numpy()
        finally:
            if training:
                model.train()


def extract(
    audio: Audio,
    model: Encoder | str | os.PathLike,
    layers: int | Sequence[int] | None = None,
    *,
    chunk_seconds: float = 20.0,
    context_seconds: float = 2.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Hidden states of ``audio`` (a path, or a mono 16 kHz waveform as array or tensor).

    ``model``: a student, a :class:`~gendistiller.teachers.Teacher`, an
    :class:`~gendistiller.export.onnx.OnnxModel`, or a spec for
    :func:`~gendistiller.encoders.load_encoder` (student or run folder, preset,
    ``.onnx`` file, teacher id...). ``layers``: hidden-state indices (negative counts from
    the end); an int gives ``[frames, hidden]``, a list or None (all) gives
    ``[len(layers), frames, hidden]``. ``out``: a preallocated array of that shape to fill
    (e.g. a memory-mapped ``.npy``).
    """
    single = isinstance(layers, int) and not isinstance(layers, bool)
    states = ChunkedStates(
        audio,
        model,
        [layers] if single else layers,
        chunk_seconds=chunk_seconds,
        context_seconds=context_seconds,
    )
    result = None if out is None else (out[None] if single else out)
    for first, part in states:
        if result is None:
            result = np.empty((part.shape[0], states.num_frames, part.shape[2]), dtype=np.float32)
        expected = (part.shape[0], states.num_frames, part.shape[2])
        if tuple(result.shape) != expected:
            raise ValueError(
                f"out has shape {tuple(result.shape)}, expected {expected[int(single) :]}"
            )
        result[:, first : first + part.shape[1]] = part
    assert result is not None
    return result[0] if single else result
