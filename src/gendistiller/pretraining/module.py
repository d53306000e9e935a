"""HuBERT-style masked prediction as a small LightningModule.

The encoder is transformers' ``HubertModel`` (group-norm conv encoder, post-LN blocks:
the layout our students can be initialised from). Masked frames are replaced by the
learned mask embedding; a linear head predicts every frame's cluster. The loss is the
cross-entropy over masked frames plus ``unmasked_weight`` times that over unmasked ones
(HuBERT's alpha = 1 / (1 + unmasked_weight); 0 gives HuBERT's masked-only loss).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import HubertConfig, HubertModel

from gendistiller.pretraining.config import PretrainConfig
from gendistiller.training.optim import build_optimizer


def encoder_config(cfg: PretrainConfig) -> HubertConfig:
    return HubertConfig(
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        conv_dim=(cfg.conv_channels,) * 7,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
        layerdrop=0.0,
        # > 0 so the model owns a mask embedding; masks themselves come from the batches.
        mask_time_prob=0.05,
        mask_time_length=cfg.mask_length,
    )


class MaskedPredictionModule(L.LightningModule):
    def __init__(self, cfg: PretrainConfig):
        super().__init__()
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.encoder = HubertModel(encoder_config(cfg))
        self.head = nn.Linear(cfg.hidden_size, cfg.num_clusters)

    def forward(self, waveforms: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.encoder(waveforms, mask_time_indices=mask).last_hidden_state

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        # Dropout draws depend on the step only, so a resumed run repeats them exactly.
        torch.manual_seed(self.cfg.seed * 1_000_003 + int(batch["step"]))
        mask, labels = batch["mask"], batch["labels"]
        logits = self.head(self(batch["waveforms"], mask))
        masked = F.cross_entropy(logits[mask], labels[mask])
        loss = masked
        metrics = {"masked_loss": masked, "masked_acc": _accuracy(logits[mask], labels[mask])}
        if self.cfg.unmasked_weight and (~mask).any():
            unmasked = F.cross_entropy(logits[~mask], labels[~mask])
            loss = masked + self.cfg.unmasked_weight * unmasked
            metrics["unmasked_acc"] = _accuracy(logits[~mask], labels[~mask])
        self.log_dict({"loss": loss, **metrics}, prog_bar=True, on_step=True)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        cfg = self.cfg
        return build_optimizer(
            self.parameters(),
            lr=cfg.lr,
            betas=(0.9, 0.98),
            eps=1e-6,
            weight_decay=cfg.weight_decay,
            warmup_ratio=cfg.warmup_ratio,
            total_steps=cfg.steps,
        )


def _accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    return (logits.argmax(-1) == labels).float().mean()
