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

Beyond the paper (config switches, off by default: docs/method.md "Beyond the paper"):
``step_embedding`` adds a learned vector e_k (zero at init) to step k's block input, so
the shared block knows which layer it generates: ``h_k = OutProj(Block(h_(k-1) + e_k)) +
h_(k-1)``; ``per_step_output_projection`` gives each step its own OutProj;
``output_adapter_rank`` r keeps one OutProj and adds a rank-r correction per step,
``OutProj(h) + B_k(A_k(h))`` with B_k zero at init (2·D·r parameters a step);
``expose_block_outputs`` adds each step's block output b_k (before OutProj and the skip)
to the states downstream sees, ``[x0, b1, h1, ..., bK, hK]``, as DistilHuBERT exposes
the layers its heads read from (with merged frames, b_k is repeated to the front-end's
rate, since the learned up-map is trained on h_k only). It changes no weight and no
training step, only what a probe or a user can read.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from transformers import initialization as init

from gendistiller.encoders.base import EncoderOutput
from gendistiller.students.base import StudentModel
from gendistiller.students.components import TransformerLayer
from gendistiller.students.config import GenDistillerConfig
from gendistiller.students.teacher_forcing import next_input, ratio_at


class LowRankAdapter(nn.Module):
    """``up @ down @ h``: a rank-r map D -> D. ``up`` is zero at init and ``down`` drawn like
    a linear layer's weight (:meth:`GenDistillerModel._init_weights`), so it starts as no
    correction. Plain parameters, not two ``nn.Linear``: transformers' init passes over
    (in remote code) a module that owns no parameter itself, and this one must zero ``up``."""

    def __init__(self, dim: int, rank: int):
        super().__init__()
        self.down = nn.Parameter(torch.empty(rank, dim))
        self.up = nn.Parameter(torch.zeros(dim, rank))

    def forward(self, h: Tensor) -> Tensor:
        return nn.functional.linear(nn.functional.linear(h, self.down), self.up)


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
        projs = config.num_steps if config.per_step_output_projection else n
        self.out_projs = (
            nn.ModuleList(nn.Linear(config.hidden_size, config.hidden_size) for _ in range(projs))
            if config.output_projection
            else None
        )
        # Created last and only when on: the paper's model keeps its names and RNG draws.
        self.step_embedding = (
            nn.Parameter(torch.zeros(config.num_steps, config.hidden_size))
            if config.step_embedding
            else None
        )
        rank, d = config.output_adapter_rank, config.hidden_size
        self.output_adapters = (
            nn.ModuleList(LowRankAdapter(d, rank) for _ in range(config.num_steps))
            if rank
            else None
        )

    def step_modules(self, k: int) -> tuple[TransformerLayer, nn.Module | None]:
        block = self.blocks[0 if self.config.shared_weights else k]
        if self.out_projs is None:
            return block, None
        return block, self.out_projs[k if len(self.out_projs) > 1 else 0]

    def forward(
        self,
        x0: Tensor,
        mask: Tensor,
        teacher_inputs: list[Tensor] | None = None,
        teacher_forcing_ratio: float | None = None,
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Each step's output ``h_k`` and its block's output ``b_k`` (before OutProj and
        the skip). ``teacher_inputs[k]``, when given, is the teacher's version of the input
        to step k + 1 (its layer ``target_layers[k]``); each utterance takes it instead of
        the student's own with probability ``teacher_forcing_ratio`` (default: the
        config's)."""
        cfg = self.config
        ratio = (
            cfg.teacher_forcing_ratio if teacher_forcing_ratio is None else teacher_forcing_ratio
        )
        generated: list[Tensor] = []
        block_outputs: list[Tensor] = []
        inputs: list[Tensor] = [x0]
        for k in range(cfg.num_steps):
            prev = inputs[-1]
            if cfg.history == "all" and k > 0:
                memory = torch.cat(inputs, dim=1)
                key_mask = mask.repeat(1, len(inputs))
            else:
                memory, key_mask = None, mask
            block, proj = self.step_modules(k)
            query = prev
            if self.step_embedding is not None:  # the step's vector on every frame it sees
                query = prev + self.step_embedding[k]
                memory = None if memory is None else memory + self.step_embedding[k]
            h = block(query, key_mask, memory)
            block_outputs.append(h)
            if proj is not None:
                adapter = None if self.output_adapters is None else self.output_adapters[k]
                h = proj(h) if adapter is None else proj(h) + adapter(h)
            if cfg.skip_connection:
                h = h + prev
            generated.append(h)
            if k + 1 < cfg.num_steps:
                teacher = teacher_inputs[k] if self.training and teacher_inputs else None
                inputs.append(next_input(h, teacher, ratio, cfg.teacher_forcing_noise))
        return generated, block_outputs


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
        return 1 + self.config.num_steps * (2 if self.config.expose_block_outputs else 1)

    @property
    def state_targets(self) -> list[int | None]:
        """x0 is no teacher layer; h_k is the k-th target (b_k, when exposed, none)."""
        steps: list[int | None] = list(self.config.target_layers)
        if self.config.expose_block_outputs:
            steps = [s for layer in self.config.target_layers for s in (None, layer)]
        return [None, *steps]

    @property
    def state_names(self) -> list[str]:
        if not self.config.expose_block_outputs:
            return super().state_names
        steps = range(1, self.config.num_steps + 1)
        return ["x0", *(name for k in steps for name in (f"b{k}", f"h{k}"))]

    def training_options(self, step: int, total_steps: int) -> dict[str, Any]:
        """The scheduled teacher-forcing ratio at optimiser ``step`` (none when constant)."""
        cfg = self.config
        if cfg.teacher_forcing_schedule == "constant":
            return {}
        ratio = ratio_at(
            cfg.teacher_forcing_ratio,
            cfg.teacher_forcing_final_ratio,
            cfg.teacher_forcing_schedule,
            step,
            total_steps,
        )
        return {"teacher_forcing_ratio": ratio}

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        # at init, the paper's generator
        if isinstance(module, LayerGenerator) and module.step_embedding is not None:
            init.zeros_(module.step_embedding)
        if isinstance(module, LowRankAdapter):
            init.normal_(module.down, mean=0.0, std=0.02)  # the Linear layers' draw
            init.zeros_(module.up)

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
        teacher_forcing_ratio: float | None = None,
    ) -> EncoderOutput:
        """``teacher_states`` (the teacher's full hidden-state list) is used only for
        teacher forcing while training; inference never needs it.
        ``teacher_forcing_ratio`` overrides the config's (a schedule's current value,
        :meth:`training_options`)."""
        x0, frames, mask, padded = self._front(waveforms, lengths)
        ratio = self.config.teacher_forcing_ratio
        ratio = ratio if teacher_forcing_ratio is None else teacher_forcing_ratio
        teacher_inputs = None
        if teacher_states is not None and self.training and ratio > 0:
            teacher_inputs = [teacher_states[layer] for layer in self.config.target_layers[:-1]]
            if self.frame_rate is not None:  # the generator runs on merged frames
                teacher_inputs = [self.frame_rate.pool(t, mask) for t in teacher_inputs]
        x, body_mask = self._down(x0, frames, mask)
        generated, blocks = self.generator(x, body_mask, teacher_inputs, ratio)
        generated = self._up(generated, x0.shape[1])
        states = [x0, *generated]
        if self.config.expose_block_outputs:  # the up-map's offsets are trained on h_k only
            if self.frame_rate is not None:
                blocks = [self.frame_rate.repeat(b, x0.shape[1]) for b in blocks]
            states = [x0, *(s for pair in zip(blocks, generated, strict=True) for s in pair)]
        return self._output(states, frames, generated, padded)
