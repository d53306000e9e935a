"""Settings of ``gendistiller pretrain-teacher``: the embedded teacher's recipe.

Defaults are what the shipped teacher was trained with (see its model card): a 6-layer,
256-d HuBERT with a 128-channel conv encoder, masked prediction of 100 MFCC k-means
clusters, on the default offline corpus. Two departures from HuBERT's base recipe, both
switchable, because the budget is ~1,000 CPU steps instead of 400k GPU steps: unmasked
frames also carry a loss (``unmasked_weight``; masked-only training had not beaten the
label unigram after 500 steps), and MFCCs are standardised before k-means so that
energy (c0) does not decide the clusters alone.
"""

from __future__ import annotations

from pydantic import model_validator

from gendistiller.config import ConfigModel, Field, FieldError


class PretrainConfig(ConfigModel):
    out: str = Field(
        "runs/embedded-teacher",
        description="output folder: checkpoints, logs and the trained teacher",
    )
    corpus: str = Field(
        "", description="corpus folder (default: the cached default-size offline corpus)"
    )
    corpus_size: str = Field(
        "default", description="size of the offline corpus when corpus is empty"
    )
    seed: int = Field(
        0, description="seed of weights, k-means, data order, masks and dropout", ge=0
    )
    # model
    hidden_size: int = Field(256, description="transformer width", gt=0)
    num_hidden_layers: int = Field(6, description="transformer blocks", gt=0)
    num_attention_heads: int = Field(4, description="attention heads", gt=0)
    intermediate_size: int = Field(1024, description="feed-forward width", gt=0)
    conv_channels: int = Field(128, description="channels of the 7-layer conv encoder", gt=0)
    # targets
    num_clusters: int = Field(
        100, description="k-means clusters of the MFCC targets (HuBERT iteration 1: 100)", gt=1
    )
    kmeans_frames: int = Field(200_000, description="frames sampled to fit k-means", gt=0)
    standardize_mfcc: bool = Field(
        True, description="scale each MFCC dimension to zero mean, unit variance before k-means"
    )
    # masking (HuBERT: span length 10, ~65% of frames masked)
    mask_prob: float = Field(
        0.65, description="fraction of frames covered by mask spans (before overlap)", gt=0, lt=1
    )
    mask_length: int = Field(10, description="frames per mask span", gt=0)
    unmasked_weight: float = Field(
        0.5,
        description="weight of the cross-entropy on unmasked frames, relative to masked ones "
        "(0: HuBERT's masked-only loss)",
        ge=0,
    )
    # optimisation
    steps: int = Field(1600, description="optimiser steps", gt=0)
    batch_size: int = Field(8, description="utterances per batch", gt=0)
    crop_seconds: float = Field(1.5, description="seconds per training crop", gt=0.1)
    lr: float = Field(5e-4, description="peak learning rate (AdamW)", gt=0)
    warmup_ratio: float = Field(0.08, description="share of steps with linear warm-up", ge=0, lt=1)
    weight_decay: float = Field(
        0.01, description="decoupled weight decay (none on biases and norms)", ge=0
    )
    grad_clip: float = Field(5.0, description="gradient-norm clip", gt=0)
    checkpoint_every: int = Field(
        100, description="save a resumable checkpoint every N steps", gt=0
    )
    threads: int = Field(0, description="torch CPU threads (0: torch's default)", ge=0)

    @model_validator(mode="after")
    def _buildable(self) -> PretrainConfig:
        if self.hidden_size % self.num_attention_heads:
            raise FieldError("hidden_size", "must be divisible by num_attention_heads")
        if self.hidden_size % 16:
            raise FieldError("hidden_size", "must be divisible by 16 (positional conv groups)")
        return self
