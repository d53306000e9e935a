"""Teacher forcing: which history a generation step gets while training.

Each utterance, at each step, takes the teacher's previous target layer instead of the
student's own with probability ``ratio`` (one draw per utterance and step, from the
global RNG, which training reseeds before every batch). Beyond the paper (both off by
default, docs/method.md "Beyond the paper"):

- **scheduled sampling**: the ratio moves over the run from ``teacher_forcing_ratio`` to
  ``teacher_forcing_final_ratio`` (:func:`ratio_at`, a function of the optimiser step
  alone, so an exact resume gets the same ratio);
- **noisy teacher forcing**: the teacher's layer, when fed, gets Gaussian noise of
  ``teacher_forcing_noise`` times each frame's RMS, so that the block learns to work
  from an imperfect history as inference gives it (exposure bias).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: How sharply the inverse-sigmoid schedule falls around the middle of the run.
STEEPNESS = 10.0


def ratio_at(start: float, end: float, schedule: str, step: int, total_steps: int) -> float:
    """The teacher-forcing ratio at optimiser step ``step`` of ``total_steps``: ``start``
    throughout for ``constant``; for ``linear`` and ``inverse_sigmoid`` from ``start`` at
    step 0 to ``end`` at the last step (the sigmoid normalised to hit both ends exactly)."""
    if schedule == "constant":
        return start
    progress = min(max(step / max(1, total_steps - 1), 0.0), 1.0)
    if schedule == "linear":
        left = 1.0 - progress
    elif schedule == "inverse_sigmoid":
        sig = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
        lo, hi = sig(-STEEPNESS / 2), sig(STEEPNESS / 2)
        left = (sig(STEEPNESS * (0.5 - progress)) - lo) / (hi - lo)
    else:
        raise ValueError(f"unknown teacher_forcing_schedule {schedule!r}")
    return end + (start - end) * left


def next_input(h: Tensor, teacher: Tensor | None, ratio: float, noise: float) -> Tensor:
    """The history of the next step: the student's ``h``, or per utterance with
    probability ``ratio`` the ``teacher``'s layer (plus ``noise`` times its RMS)."""
    if teacher is None or ratio <= 0.0:
        return h
    teacher = teacher.to(h.dtype)
    use_teacher = None
    if ratio < 1.0:  # drawn first: noise on or off, the same utterances are forced
        use_teacher = torch.rand(h.shape[0], 1, 1, device=h.device) < ratio
    if noise > 0.0:
        rms = teacher.pow(2).mean(dim=-1, keepdim=True).sqrt()
        teacher = teacher + noise * rms * torch.randn_like(teacher)
    return teacher if use_teacher is None else torch.where(use_teacher, teacher, h)
