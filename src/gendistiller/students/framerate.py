"""A lower frame rate inside the transformer, 20 ms states outside (``transformer_stride``).

With ``transformer_stride: s`` the student's blocks run on one frame per ``s`` front-end
frames (``s = 2``: 40 ms, 25 Hz), which divides the blocks' matrix products by ``s`` and
their attention by ``s**2``, the trick of FitHuBERT and Fast-HuBERT. The front-end's
frames are merged ``s`` at a time by one linear map (``down``, initialised to their
mean), and every state the blocks produce is unfolded back into ``s`` frames by
repeating it and adding ``s`` learned offsets that sum to zero (``up``: a linear map of the
state gives the first ``s - 1``, the last is minus their sum; initialised to zero, so a
fresh student starts from plain repetition). The state stays the mean of the frames it
unfolds into, as the merged frame is the mean of the frames it merges, and the map costs
``(s - 1) / s`` of a free one (half, for ``s = 2``: the pair is ``h + d, h - d``). Teacher forcing feeds GenDistiller's
generator the teacher's layer averaged over the same ``s`` frames (:meth:`FrameRate.pool`),
the merged-rate state whose repetition best matches it. Hidden state 0 stays the front-end's own
20 ms state, and every state keeps the front-end's frames and lengths, so the encoder
contract (one frame per 320 samples) is unchanged.

Padding: padded front-end frames are zeroed before merging, and an utterance run alone is
padded with zero frames to a multiple of ``s``, so its merged frames are those it gets in
a batch; a merged frame is valid when any of its frames is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gendistiller.encoders.geometry import lengths_to_mask


class FrameRate(nn.Module):
    def __init__(self, hidden_size: int, stride: int):
        super().__init__()
        self.stride = stride
        d = hidden_size
        self.down_weight = nn.Parameter(torch.empty(d, stride * d))
        self.down_bias = nn.Parameter(torch.empty(d))
        self.up_weight = nn.Parameter(torch.empty((stride - 1) * d, d))
        self.up_bias = nn.Parameter(torch.empty((stride - 1) * d))
        # Initialised by the student's _init_weights (mean and zero, as said above).

    def down(self, x: Tensor, frames: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``[B, T, D]`` frames -> ``[B, ceil(T / s), D]`` merged frames and their mask."""
        s = self.stride
        b, t, d = x.shape
        x = x * mask[..., None].to(x.dtype)
        x = F.pad(x, (0, 0, 0, (-t) % s))
        merged = F.linear(x.reshape(b, -1, s * d), self.down_weight, self.down_bias)
        valid = torch.div(frames + s - 1, s, rounding_mode="floor")
        return merged, lengths_to_mask(valid, merged.shape[1])

    def pool(self, x: Tensor, mask: Tensor) -> Tensor:
        """``[B, T, D]`` -> ``[B, ceil(T / s), D]``: the mean of each ``s`` frames (padded
        frames count as zeros, as they do in :meth:`down`)."""
        s = self.stride
        b, t, d = x.shape
        x = F.pad(x * mask[..., None].to(x.dtype), (0, 0, 0, (-t) % s))
        return x.reshape(b, -1, s, d).mean(dim=2)

    def repeat(self, h: Tensor, frames: int) -> Tensor:
        """``[B, T', D]`` -> ``[B, frames, D]``: each state repeated ``s`` times, with no
        learned offsets (for a state the offsets were not trained on)."""
        return h.repeat_interleave(self.stride, dim=1)[:, :frames]

    def up(self, h: Tensor, frames: int) -> Tensor:
        """``[B, T', D]`` -> ``[B, frames, D]``: each state repeated ``s`` times plus its
        ``s`` offsets (summing to zero)."""
        b, t, d = h.shape
        offsets = F.linear(h, self.up_weight, self.up_bias).reshape(b, t, self.stride - 1, d)
        offsets = torch.cat([offsets, -offsets.sum(dim=2, keepdim=True)], dim=2)
        return (h[:, :, None, :] + offsets).reshape(b, t * self.stride, d)[:, :frames]
