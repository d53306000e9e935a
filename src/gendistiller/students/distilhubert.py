"""DistilHuBERT (Chang, Yang, Lee, ICASSP 2022), as in s3prl's distiller.

Front-end, a LayerNorm, two post-LN transformer layers, then training-only
"expand-last" prediction heads: ``Linear(D, D*N) -> GELU -> N x Linear(D, D)``, one per
target teacher layer. Without the heads the paper's layout is exactly a 2-layer
``HubertModel`` (``feat_proj_layer_norm=False``), which is how :mod:`gendistiller.export`
ships it; with a light front-end, no positional convolution or merged frames inside
(``distilhubert-fast``) it ships with its code, like GenDistiller.

``expose_prediction_heads`` makes the heads part of the model: their predictions follow
the layers in the hidden states downstream sees, as in s3prl's distiller upstream (its
default ``no_pred=False``), and they are counted, kept and exported with it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gendistiller.encoders.base import EncoderOutput
from gendistiller.students.base import StudentModel, default_state_names
from gendistiller.students.components import TransformerLayer
from gendistiller.students.config import DistilHuBERTConfig


class ExpandLastHeads(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.expand = nn.Linear(hidden_size, hidden_size * num_heads)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, hidden_size) for _ in range(num_heads))

    def forward(self, x: Tensor) -> list[Tensor]:
        parts = F.gelu(self.expand(x)).chunk(self.num_heads, dim=-1)
        return [head(part) for head, part in zip(self.heads, parts, strict=True)]


class DistilHuBERTModel(StudentModel):
    config_class = DistilHuBERTConfig
    _no_split_modules = ["TransformerLayer"]
    training_only_prefixes = ("prediction_heads.",)
    #: Without its heads the paper's layout is a shallow HuBERT: shipped as a plain
    #: ``HubertModel``. A student that is not (see ``__init__``) ships with its code.
    export_kind = "hubert"

    def __init__(self, config: DistilHuBERTConfig):
        super().__init__(config)
        self.layers = nn.ModuleList(
            TransformerLayer(
                config.hidden_size,
                config.num_attention_heads,
                config.intermediate_size,
                config.hidden_act,
                config.hidden_dropout,
                config.attention_dropout,
                config.activation_dropout,
                config.layer_norm_eps,
            )
            for _ in range(config.num_hidden_layers)
        )
        self.prediction_heads = ExpandLastHeads(config.hidden_size, len(config.target_layers))
        hubert = config.frontend == "conv" and config.num_conv_pos_embeddings > 0
        if config.expose_prediction_heads:  # then part of the deployed model
            self.training_only_prefixes = ()
        if not (hubert and config.transformer_stride == 1) or config.expose_prediction_heads:
            self.export_kind = "remote_code"  # light front-end, no pos conv, heads...
        self.post_init()

    @property
    def num_hidden_states(self) -> int:
        heads = len(self.config.target_layers) if self.config.expose_prediction_heads else 0
        return 1 + self.config.num_hidden_layers + heads

    @property
    def state_targets(self) -> list[int | None]:
        """Only exposed heads are trained to equal a teacher layer; the layers are not."""
        heads = list(self.config.target_layers) if self.config.expose_prediction_heads else []
        return [None] * (1 + self.config.num_hidden_layers) + heads

    @property
    def state_names(self) -> list[str]:
        layers = default_state_names(1 + self.config.num_hidden_layers)
        heads = [f"p{t}" for t in self.config.target_layers]  # the head predicting layer t
        return layers + (heads if self.config.expose_prediction_heads else [])

    def teacher_prefix_pairs(self) -> list[tuple[str, str]]:
        """The front-end and every layer, from the teacher's first layers (DistilHuBERT's
        initialisation), which is also the whole of its ``HubertModel`` export."""
        layers = range(self.config.num_hidden_layers)
        return super().teacher_prefix_pairs() + [
            (f"layers.{i}.", f"encoder.layers.{i}.") for i in layers
        ]

    def forward(
        self,
        waveforms: Tensor,
        lengths: Tensor | None = None,
        teacher_states: list[Tensor] | None = None,
    ) -> EncoderOutput:
        """``teacher_states`` is accepted for a uniform interface and ignored."""
        x0, frames, mask, padded = self._front(waveforms, lengths)
        x, body_mask = self._down(x0, frames, mask)
        layers = []
        for layer in self.layers:
            x = layer(x, body_mask)
            layers.append(x)
        states = [x0, *self._up(layers, x0.shape[1])]
        predictions = self.prediction_heads(states[-1])
        if self.config.expose_prediction_heads:
            states = [*states, *predictions]
        return self._output(states, frames, predictions, padded)
