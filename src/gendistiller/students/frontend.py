"""The front-end both students share: waveform -> frames -> the first hidden state.

``feature_extractor`` turns samples into frame features ``[B, C, T]``: the paper's
waveform CNN (``frontend: conv``, initialised from the teacher's) or the log-mel
front-end of :mod:`.fbank` (``frontend: fbank``). Then, for either: a projection to the
hidden size, the positional convolution (none with ``num_conv_pos_embeddings: 0``) and a
LayerNorm. Its output is hidden state 0 of both students, like ``hidden_states[0]`` of a
HuBERT; :meth:`FrontEnd.features` exposes the feature extractor's output, the
counterpart of a teacher's CNN output, for a stage that trains a light front-end
against it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gendistiller.encoders.geometry import FrameGeometry, lengths_to_mask
from gendistiller.students.components import (
    ConvFeatureExtractor,
    FeatureProjection,
    PositionalConvEmbedding,
    scale_grad,
)
from gendistiller.students.fbank import FbankFeatureExtractor


def feature_extractor(config) -> nn.Module:
    """The module ``config.frontend`` names (both have ``geometry`` and ``output_dim``)."""
    if config.frontend == "fbank":
        return FbankFeatureExtractor(config)
    return ConvFeatureExtractor(
        config.conv_dim, config.conv_kernel, config.conv_stride, config.conv_bias
    )


class FrontEnd(nn.Module):
    """Waveform -> first hidden state: features, projection, positional conv, LayerNorm."""

    def __init__(self, config) -> None:
        super().__init__()
        self.feature_grad_mult = float(config.feature_grad_mult)
        self.feature_extractor = feature_extractor(config)
        self.feature_projection = FeatureProjection(
            self.feature_extractor.output_dim,
            config.hidden_size,
            config.feature_layer_norm,
            config.feat_proj_dropout,
            config.layer_norm_eps,
        )
        self.pos_conv_embed = (
            PositionalConvEmbedding(
                config.hidden_size,
                config.num_conv_pos_embeddings,
                config.num_conv_pos_embedding_groups,
            )
            if config.num_conv_pos_embeddings
            else None
        )
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)

    @property
    def geometry(self) -> FrameGeometry:
        return self.feature_extractor.geometry

    def features(self, waveforms: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``[B, T, C]`` frame features before the projection (a teacher's
        ``extract_features``), gradient scaled by ``feature_grad_mult``."""
        feats = self.feature_extractor(waveforms, lengths)
        return scale_grad(feats, self.feature_grad_mult).transpose(1, 2)

    def forward(self, waveforms: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Returns ``(x0 [B, T, D], frame lengths [B], valid mask [B, T])``. Without
        ``lengths`` every sample is valid, and the plain (faster) group norm is used."""
        feats = self.features(waveforms, lengths)
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[1], device=waveforms.device)
        frames = self.feature_extractor.output_lengths(lengths)
        mask = lengths_to_mask(frames, feats.shape[1])
        x = self.feature_projection(feats) * mask[..., None].to(feats.dtype)
        if self.pos_conv_embed is not None:
            x = x + self.pos_conv_embed(x)
        return self.dropout(self.layer_norm(x)), frames, mask
