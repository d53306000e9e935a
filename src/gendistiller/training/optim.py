"""The optimiser and schedule of DistilHuBERT's recipe, shared by every trainer here.

AdamW (decoupled weight decay; none on biases and norm weights, i.e. 1-D tensors) and a
learning rate that rises linearly over the warm-up steps, then falls linearly to 0.

Not transformers' ``get_linear_schedule_with_warmup``: that one starts at LR 0, one step
behind this one during the warm-up (identical afterwards), so switching would move every
published run; tests/training/test_distill_optim.py pins both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def warmup_then_linear_decay(warmup: int, total: int) -> Callable[[int], float]:
    """LR multiplier: 0 -> 1 linearly over ``warmup`` steps, then 1 -> 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def build_optimizer(
    parameters: Iterable[torch.nn.Parameter],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    warmup_ratio: float,
    total_steps: int,
) -> dict[str, Any]:
    """Lightning's ``configure_optimizers`` answer: AdamW + per-step LambdaLR."""
    decay, no_decay = [], []
    for p in parameters:
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
        betas=tuple(betas),
        eps=eps,
    )
    warmup = int(round(warmup_ratio * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_then_linear_decay(warmup, total_steps)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
