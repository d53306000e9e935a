"""GenDistiller (arXiv 2406.09444): generate the teacher's layers one after another.

::

    waveform -> FrontEnd -> x0 ------------------------------------------+
                 x0 -> Block -> OutProj -> (+ x0) = h1 ~ teacher layer l1 |
                 h1 -> Block -> OutProj -> (+ h1) = h2 ~ teacher layer l2 |  same Block
                 ...                                                     |  (shared_weights)
    hidden_states = [x0, h1, ..., hK]

``history="all"`` (the paper's first version) lets step k attend to every earlier input
``x0, h1, ..., h(k-1)``: queries are the frames of ``h(k-1)``, keys and values all frames of
all earlier layers, which is the block-causal (over layers) and bidirectional (over time)
attention of that version, computed for the newest layer only.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gendistiller.encoders.base import EncoderOutput
from gendistiller.students.base import StudentModel
from gendistiller.students.components import TransformerLayer
from gendistiller.students.config import GenDistillerConfig


class LayerGenerator(nn.Module):
    """The autoregressive part: K steps of (block, output projection, skip)."""

    def __init__(self, config: GenDistillerConfig):
        super().__init__()
        self.config = config
        n = 1 if config.shared_weights else config.num_steps
        self.blocks = nn.ModuleList(
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
            for _ in range(n)
        )
        self.out_projs = (
            nn.ModuleList(nn.Linear(config.hidden_size, config.hidden_size) for _ in range(n))
            if config.output_projection
            else None
        )

    def step_modules(self, k: int) -> tuple[TransformerLayer, nn.Module | None]:
        i = 0 if self.config.shared_weights else k
        return self.blocks[i], (self.out_projs[i] if self.out_projs is not None else None)

    def forward(
        self, x0: Tensor, mask: Tensor, teacher_inputs: list[Tensor] | None = None
    ) -> list[Tensor]:
        """``teacher_inputs[k]``, when given, is the teacher's version of the input to step
        k + 1 (its layer ``target_layers[k]``); each utterance takes it instead of the
        student's own with probability ``teacher_forcing_ratio``."""
        cfg = self.config
        generated: list[Tensor] = []
        inputs: list[Tensor] = [x0]
        for k in range(cfg.num_steps):
            prev = inputs[-1]
            if cfg.history == "all" and k > 0:
                memory = torch.cat(inputs, dim=1)
                key_mask = mask.repeat(1, len(inputs))
            else:
                memory, key_mask = None, mask
            block, proj = self.step_modules(k)
            h = block(prev, key_mask, memory)
            if proj is not None:
                h = proj(h)
            if cfg.skip_connection:
                h = h + prev
            generated.append(h)
            if k + 1 < cfg.num_steps:
                inputs.append(self._next_input(h, teacher_inputs, k))
        return generated

    def _next_input(self, h: Tensor, teacher_inputs: list[Tensor] | None, k: int) -> Tensor:
        ratio = self.config.teacher_forcing_ratio
        if not self.training or teacher_inputs is None or ratio <= 0.0:
            return h
        teacher = teacher_inputs[k].to(h.dtype)
        if ratio >= 1.0:
            return teacher
        use_teacher = torch.rand(h.shape[0], 1, 1, device=h.device) < ratio
        return torch.where(use_teacher, teacher, h)


class GenDistillerModel(StudentModel):
    config_class = GenDistillerConfig
    _no_split_modules = ["TransformerLayer"]
    #: No transformers counterpart: shipped with its modelling code (``trust_remote_code``).
    export_kind = "remote_code"

    def __init__(self, config: GenDistillerConfig):
        super().__init__(config)
        self.generator = LayerGenerator(config)
        self.post_init()

    @property
    def num_hidden_states(self) -> int:
        return 1 + self.config.num_steps

    def teacher_prefix_pairs(self) -> list[tuple[str, str]]:
        """The front-end, and the generator's block(s) from the teacher's blocks."""
        cfg = self.config
        if cfg.shared_weights:
            return super().teacher_prefix_pairs() + [("generator.blocks.0.", "encoder.layers.0.")]
        # Block k generates teacher layer l_k from l_(k-1): start it from the teacher block
        # that follows l_(k-1), i.e. the first block of the span it has to imitate.
        starts = [0, *cfg.target_layers[:-1]]
        return super().teacher_prefix_pairs() + [
            (f"generator.blocks.{k}.", f"encoder.layers.{s}.") for k, s in enumerate(starts)
        ]

    def forward(
        self,
        waveforms: Tensor,
        lengths: Tensor | None = None,
        teacher_states: list[Tensor] | None = None,
    ) -> EncoderOutput:
        """``teacher_states`` (the teacher's full hidden-state list) is used only for
        teacher forcing while training; inference never needs it."""
        x0, frames, mask, padded = self._front(waveforms, lengths)
        teacher_inputs = None
        if teacher_states is not None and self.training and self.config.teacher_forcing_ratio > 0:
            teacher_inputs = [teacher_states[layer] for layer in self.config.target_layers[:-1]]
            if self.frame_rate is not None:  # the generator runs on merged frames
                teacher_inputs = [self.frame_rate.pool(t, mask) for t in teacher_inputs]
        x, body_mask = self._down(x0, frames, mask)
        generated = self._up(self.generator(x, body_mask, teacher_inputs), x0.shape[1])
        return self._output([x0, *generated], frames, generated, padded)
