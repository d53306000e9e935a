"""The distillation loss: per target layer, a distance plus a cosine term.

``L_k = mean_valid |pred - target|  +  lambda * mean_valid -log sigmoid(cos(pred, target))``

as DistilHuBERT (s3prl) defines it, except that both means run over valid frames only
(s3prl averages over padding too). ``distance="l2"`` swaps the L1 term for mean squared
error. The total is the sum over target layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DISTANCES = ("l1", "l2")


@dataclass
class LossOutput:
    """``total``: scalar to minimise. ``distance``/``cos``: ``[K]`` per-layer mean distance
    (L1 or L2, per ``DistillationLoss.distance``) and mean cosine similarity, detached."""

    total: Tensor
    distance: Tensor
    cos: Tensor


class DistillationLoss(nn.Module):
    def __init__(self, cos_weight: float = 1.0, distance: str = "l1"):
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
        if cos_weight < 0:
            raise ValueError(f"cos_weight must be >= 0, got {cos_weight}")
        self.cos_weight = float(cos_weight)
        self.distance = distance

    def extra_repr(self) -> str:
        return f"distance={self.distance}, cos_weight={self.cos_weight}, reduction=mean over valid frames"

    def forward(
        self, predictions: list[Tensor], targets: list[Tensor], mask: Tensor | None = None
    ) -> LossOutput:
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
        total = predictions[0].new_zeros(())
        dists, coss = [], []
        for pred, target in zip(predictions, targets, strict=True):
            if pred.shape != target.shape:
                raise ValueError(
                    f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}"
                )
            pred, target = pred.float(), target.float()
            m = (
                torch.ones(pred.shape[:2], dtype=torch.bool, device=pred.device)
                if mask is None
                else mask
            )
            w = m.to(pred.dtype)
            frames = w.sum().clamp(min=1.0)
            diff = (pred - target).abs() if self.distance == "l1" else (pred - target) ** 2
            dist = (diff.mean(dim=-1) * w).sum() / frames
            cos = F.cosine_similarity(pred, target, dim=-1)
            cos_term = (-F.logsigmoid(cos) * w).sum() / frames
            total = total + dist + self.cos_weight * cos_term
            dists.append(dist.detach())
            coss.append(((cos * w).sum() / frames).detach())
        return LossOutput(total=total, distance=torch.stack(dists), cos=torch.stack(coss))
