"""HuBERT-style self-supervised pretraining of the small embedded teacher."""

from gendistiller.pretraining.config import PretrainConfig
from gendistiller.pretraining.run import PretrainResult, pretrain

__all__ = ["PretrainConfig", "PretrainResult", "pretrain"]
