"""Frame geometry: which waveform samples each output frame of an encoder sees.

Every encoder here starts with a stack of unpadded 1-D convolutions (wav2vec 2.0's
waveform front-end, or whatever a light front-end declares in its config). The stack's
kernels and strides fix everything downstream code needs: samples per frame, the samples
one frame sees, and how many frames an input of ``n`` samples gives. They are derived here,
once, from the front-end's own description (:meth:`FrameGeometry.from_config`).
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
        configs and the students' alike)."""
        return cls(tuple(config.conv_kernel), tuple(config.conv_stride))

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
