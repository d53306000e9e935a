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

from dataclasses import dataclass

from gendistiller.errors import ConfigError
from gendistiller.training.schema import option


@dataclass
class PretrainConfig:
    out: str = option(
        "runs/embedded-teacher", "output folder: checkpoints, logs and the trained teacher"
    )
    corpus: str = option("", "corpus folder (default: the cached default-size offline corpus)")
    corpus_size: str = option("default", "size of the offline corpus when --corpus is not given")
    seed: int = option(0, "seed of weights, k-means, data order, masks and dropout", ge=0)
    # model
    hidden_size: int = option(256, "transformer width", gt=0)
    num_hidden_layers: int = option(6, "transformer blocks", gt=0)
    num_attention_heads: int = option(4, "attention heads", gt=0)
    intermediate_size: int = option(1024, "feed-forward width", gt=0)
    conv_channels: int = option(128, "channels of the 7-layer conv encoder", gt=0)
    # targets
    num_clusters: int = option(
        100, "k-means clusters of the MFCC targets (HuBERT iteration 1: 100)", gt=1
    )
    kmeans_frames: int = option(200_000, "frames sampled to fit k-means", gt=0)
    standardize_mfcc: bool = option(
        True, "scale each MFCC dimension to zero mean, unit variance before k-means"
    )
    # masking (HuBERT: span length 10, ~65% of frames masked)
    mask_prob: float = option(
        0.65, "fraction of frames covered by mask spans (before overlap)", gt=0, lt=1
    )
    mask_length: int = option(10, "frames per mask span", gt=0)
    unmasked_weight: float = option(
        0.5,
        "weight of the cross-entropy on unmasked frames, relative to masked ones "
        "(0: HuBERT's masked-only loss)",
        ge=0,
    )
    # optimisation
    steps: int = option(1600, "optimiser steps", gt=0)
    batch_size: int = option(8, "utterances per batch", gt=0)
    crop_seconds: float = option(1.5, "seconds per training crop", gt=0.1)
    lr: float = option(5e-4, "peak learning rate (AdamW)", gt=0)
    warmup_ratio: float = option(0.08, "share of steps with linear warm-up", ge=0, lt=1)
    weight_decay: float = option(0.01, "decoupled weight decay (none on biases and norms)", ge=0)
    grad_clip: float = option(5.0, "gradient-norm clip", gt=0)
    checkpoint_every: int = option(100, "save a resumable checkpoint every N steps", gt=0)
    threads: int = option(0, "torch CPU threads (0: torch's default)", ge=0)

    def check(self, prefix: str) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"{prefix or 'pretrain'}.hidden_size must be divisible by num_attention_heads"
            )
        if self.hidden_size % 16:
            raise ConfigError(
                f"{prefix or 'pretrain'}.hidden_size must be divisible by 16 (positional conv groups)"
            )
