"""Frame geometry: which waveform samples each output frame of an encoder sees.

Every encoder here starts with a stack of unpadded 1-D convolutions (wav2vec 2.0's
waveform front-end), or with something that frames the waveform the same way: a student's
log-mel front-end cuts it into windows of ``fbank_window`` samples every ``fbank_hop``
and stacks ``stride / fbank_hop`` of them into one frame, which is a two-layer stack
(window, hop), (stack, stack). The stack's kernels and strides fix everything downstream
code needs: samples per frame, the samples one frame sees, and how many frames an input
of ``n`` samples gives. They are derived here, once, from the front-end's own description
(:meth:`FrameGeometry.from_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``[B]`` lengths -> ``[B, max_len]`` bool mask, True on valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


@dataclass(frozen=True)
class FrameGeometry:
    """A conv stack's ``kernels`` and ``strides`` (in samples at the input of each layer).

    Frame ``t`` sees samples ``[t * stride, t * stride + receptive_field)``; an input of
    ``n`` samples has ``floor((n - receptive_field) / stride) + 1`` frames (0 when shorter
    than one frame), which equals applying every layer's ``floor((n - k) / s) + 1`` in turn.
    """

    kernels: tuple[int, ...]
    strides: tuple[int, ...]

    def __post_init__(self) -> None:
        kernels, strides = tuple(map(int, self.kernels)), tuple(map(int, self.strides))
        if not kernels or len(kernels) != len(strides):
            raise ValueError(
                f"kernels and strides need one equal, non-zero length; got {kernels} and {strides}"
            )
        if min(kernels) < 1 or min(strides) < 1:
            raise ValueError(f"kernels and strides must be positive; got {kernels} and {strides}")
        object.__setattr__(self, "kernels", kernels)
        object.__setattr__(self, "strides", strides)

    @classmethod
    def from_config(cls, config: Any) -> FrameGeometry:
        """From a config's ``conv_kernel`` and ``conv_stride`` (transformers' speech SSL
        configs and the students' alike), or, for a student with ``frontend: fbank``, from
        its ``fbank_window`` and ``fbank_hop``, stacked to the conv stack's stride."""
        conv = cls(tuple(config.conv_kernel), tuple(config.conv_stride))
        if getattr(config, "frontend", "conv") != "fbank":
            return conv
        return cls.framed(config.fbank_window, config.fbank_hop, conv.stride)

    @classmethod
    def framed(cls, window: int, hop: int, stride: int) -> FrameGeometry:
        """Windows of ``window`` samples every ``hop``, ``stride // hop`` of them stacked
        into one frame (``hop`` must divide ``stride``)."""
        if hop < 1 or stride % hop:
            raise ValueError(f"hop {hop} does not divide the frame stride {stride}")
        stack = stride // hop
        if stack == 1:
            return cls((window,), (hop,))
        return cls((window, stack), (hop, stack))

    @property
    def first(self) -> FrameGeometry:
        """The first layer alone (a log-mel front-end's windows before stacking)."""
        return FrameGeometry(self.kernels[:1], self.strides[:1])

    @classmethod
    def single(cls, receptive_field: int, stride: int) -> FrameGeometry:
        """One layer with the given field and stride: the same frames as any stack of them
        (for runtimes that record only those two numbers)."""
        return cls((receptive_field,), (stride,))

    @property
    def stride(self) -> int:
        """Waveform samples per output frame (320 for the standard encoder)."""
        out = 1
        for s in self.strides:
            out *= s
        return out

    @property
    def receptive_field(self) -> int:
        """Samples seen by one output frame (400 for the standard encoder)."""
        field, jump = 1, 1
        for k, s in zip(self.kernels, self.strides, strict=True):
            field += (k - 1) * jump
            jump *= s
        return field

    def output_lengths(self, samples: Tensor) -> Tensor:
        """Valid frames for inputs of ``samples`` samples (any integer tensor)."""
        frames = torch.div(samples - self.receptive_field, self.stride, rounding_mode="floor") + 1
        return frames.clamp(min=0)

    def num_frames(self, samples: int) -> int:
        """Frames of one input of ``samples`` samples (0 when shorter than one frame)."""
        return max(0, (int(samples) - self.receptive_field) // self.stride + 1)

    def num_samples(self, frames: int) -> int:
        """The fewest samples that give ``frames`` frames (exactly whole frames)."""
        return (int(frames) - 1) * self.stride + self.receptive_field


#: wav2vec 2.0 / HuBERT / WavLM's waveform encoder: 20 ms frames of 25 ms at 16 kHz.
STANDARD = FrameGeometry((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2))
