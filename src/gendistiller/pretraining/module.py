"""HuBERT-style masked prediction as a small LightningModule.

The encoder is transformers' ``HubertModel`` (group-norm conv encoder, post-LN blocks:
the layout our students can be initialised from). Masked frames are replaced by the
learned mask embedding; a linear head predicts each masked frame's cluster, and the loss
is cross-entropy over masked frames only (HuBERT's alpha = 1).
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
        hidden = self(batch["waveforms"], batch["mask"])
        mask = batch["mask"]
        logits = self.head(hidden[mask])
        loss = F.cross_entropy(logits, batch["labels"][mask])
        accuracy = (logits.argmax(-1) == batch["labels"][mask]).float().mean()
        self.log_dict({"loss": loss, "masked_acc": accuracy}, prog_bar=True, on_step=True)
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
