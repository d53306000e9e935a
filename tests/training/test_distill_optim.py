"""The optimiser and LR schedule every trainer uses (training/optim.py)."""

from __future__ import annotations

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from gendistiller.training.optim import build_optimizer


def _lrs(optimizer, scheduler, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def _ours(warmup_ratio: float, total: int) -> list[float]:
    params = [torch.nn.Parameter(torch.zeros(2, 2)), torch.nn.Parameter(torch.zeros(2))]
    built = build_optimizer(
        params, lr=1.0, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01,
        warmup_ratio=warmup_ratio, total_steps=total,
    )  # fmt: skip
    return _lrs(built["optimizer"], built["lr_scheduler"]["scheduler"], total + 1)


def test_warmup_then_linear_decay_to_zero():
    expected = [1 / 3, 2 / 3, 1, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7, 0]
    assert _ours(0.3, 10) == pytest.approx(expected)
    assert _ours(0.0, 4) == pytest.approx([1, 3 / 4, 2 / 4, 1 / 4, 0])


def test_against_transformers_linear_schedule():
    """Why the schedule is not transformers' ``get_linear_schedule_with_warmup``: that one
    starts at LR 0 and so is one step behind during the warm-up (the same afterwards).
    Switching would change every published run, so ours stays."""
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2, 2))], lr=1.0)
    theirs = _lrs(opt, get_linear_schedule_with_warmup(opt, 3, 10), 11)
    ours = _ours(0.3, 10)
    assert theirs[0] == 0.0 and theirs[1:4] == pytest.approx(ours[0:3])
    assert theirs[3:] == pytest.approx(ours[3:])


def test_no_weight_decay_on_biases_and_norms():
    weight, bias = torch.nn.Parameter(torch.zeros(3, 3)), torch.nn.Parameter(torch.zeros(3))
    frozen = torch.nn.Parameter(torch.zeros(3, 3), requires_grad=False)
    groups = build_optimizer(
        [weight, bias, frozen], lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1,
        warmup_ratio=0.1, total_steps=10,
    )["optimizer"].param_groups  # fmt: skip
    assert [(g["weight_decay"], len(g["params"])) for g in groups] == [(0.1, 1), (0.0, 1)]
    assert groups[0]["params"][0] is weight and groups[1]["params"][0] is bias
