"""The distillation loss: per target layer, a distance plus a cosine term.

``L_k = mean_valid |pred - target|  +  lambda * mean_valid -log sigmoid(cos(pred, target))``

as DistilHuBERT (s3prl) defines it, except that both means run over valid frames only
(s3prl averages over padding too). ``distance="l2"`` swaps the L1 term for mean squared
error. The total is the sum over target layers, or with ``layer_weights`` (beyond the
paper: :func:`depth_weights`) their weighted sum.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def depth_weights(target_layers: Sequence[int], exponent: float) -> list[float] | None:
    """Per-layer weights proportional to ``layer ** exponent``, with mean 1 so that the
    total keeps the scale of the plain sum; ``None`` (the plain sum) for exponent 0.
    Exponent 1 on layers 4, 8, 12 gives 0.5, 1, 1.5."""
    if exponent == 0:
        return None
    raw = [float(layer) ** exponent for layer in target_layers]
    mean = sum(raw) / len(raw)
    return [w / mean for w in raw]


class DistillationLoss(nn.Module):
    def __init__(
        self,
        cos_weight: float = 1.0,
        distance: str = "l1",
        layer_weights: Sequence[float] | None = None,
    ):
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
        if cos_weight < 0:
            raise ValueError(f"cos_weight must be >= 0, got {cos_weight}")
        if layer_weights is not None and any(w < 0 for w in layer_weights):
            raise ValueError(f"layer_weights must be >= 0, got {list(layer_weights)}")
        self.cos_weight = float(cos_weight)
        self.distance = distance
        self.layer_weights = None if layer_weights is None else [float(w) for w in layer_weights]

    def extra_repr(self) -> str:
        weights = "" if self.layer_weights is None else f", layer_weights={self.layer_weights}"
        return f"distance={self.distance}, cos_weight={self.cos_weight}{weights}, reduction=mean over valid frames"

    def forward(
        self, predictions: list[Tensor], targets: list[Tensor], mask: Tensor | None = None
    ) -> LossOutput:
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
        weights = self.layer_weights
        if weights is not None and len(weights) != len(predictions):
            raise ValueError(f"{len(weights)} layer weights for {len(predictions)} layers")
        total = predictions[0].new_zeros(())
        dists, coss = [], []
        for k, (pred, target) in enumerate(zip(predictions, targets, strict=True)):
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
            if weights is None:  # the paper's sum, in its order of operations
                total = total + dist + self.cos_weight * cos_term
            else:
                total = total + weights[k] * (dist + self.cos_weight * cos_term)
            dists.append(dist.detach())
            coss.append(((cos * w).sum() / frames).detach())
        return LossOutput(total=total, distance=torch.stack(dists), cos=torch.stack(coss))
