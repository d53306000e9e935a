"""What every student shares: the front-end, the encoder interface, weight init, sizes.

A student is a transformers ``PreTrainedModel``: ``save_pretrained`` writes
``config.json`` + ``model.safetensors``; :func:`gendistiller.load_student` reads them back
strictly. It is an encoder (:mod:`gendistiller.encoders`): ``forward(waveforms, lengths)``
returns an :class:`~gendistiller.encoders.EncoderOutput` whose ``hidden_states`` satisfy
the SUPERB upstream contract (one width, one stride).

Each student class declares what differs between kinds, so no code outside it asks which
kind it holds: :meth:`StudentModel.teacher_prefix_pairs` (which of its modules a teacher's
weights initialise, and the map to a transformers checkpoint) and ``export_kind`` (how
:mod:`gendistiller.export.transformers` ships it). Kinds are listed in :mod:`.registry`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from transformers import PreTrainedModel
from transformers import initialization as init

from gendistiller.encoders.base import EncoderOutput
from gendistiller.encoders.geometry import FrameGeometry
from gendistiller.students.components import PositionalConvEmbedding
from gendistiller.students.config import StudentConfig
from gendistiller.students.fbank import BandMeanNorm
from gendistiller.students.framerate import FrameRate
from gendistiller.students.frontend import FrontEnd
from gendistiller.students.weights import FRONTEND_FEATURES, FRONTEND_PREFIXES

#: Kept for users of earlier releases: a student returns an :class:`EncoderOutput` whose
#: ``predictions`` are its estimates of the teacher's ``config.target_layers``.
StudentOutput = EncoderOutput


def full_length(lengths: Tensor, samples: int) -> bool:
    """True when every utterance fills the batch (batch-1 inference, the SUPERB upstream on
    one utterance, the benchmark): then the padding-aware path and the plain one compute
    the same, and the plain group norm is faster. False while exporting or compiling:
    the check reads tensor values, which a graph cannot; the graph keeps the masked path,
    which is exact for every batch."""
    if torch.compiler.is_exporting() or torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    return bool((lengths == samples).all())


def default_state_names(count: int) -> list[str]:
    """``x0`` (the front-end's output), then ``h1``, ``h2``, ... for ``count`` states."""
    return ["x0"] + [f"h{k}" for k in range(1, count)]


class StudentModel(PreTrainedModel):
    config_class = StudentConfig
    base_model_prefix = "student"
    main_input_name = "waveforms"
    input_modalities = "audio"

    kind = "student"
    #: Parameter-name prefixes that exist only for training (dropped from inference counts).
    training_only_prefixes: tuple[str, ...] = ()
    #: How :func:`gendistiller.export.transformers.export_transformers` ships this kind.
    export_kind: str = ""

    def __init__(self, config: StudentConfig):
        super().__init__(config)
        self.frontend = FrontEnd(config)
        stride = int(config.transformer_stride)
        self.frame_rate = FrameRate(config.hidden_size, stride) if stride > 1 else None
        #: The spec it was loaded from (set by :func:`gendistiller.encoders.load_encoder`).
        self.name = config.model_type

    # --- the encoder interface -------------------------------------------------------
    @property
    def geometry(self) -> FrameGeometry:
        return self.frontend.geometry

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def num_hidden_states(self) -> int:
        raise NotImplementedError

    @property
    def state_targets(self) -> list[int | None]:
        """The teacher layer each exposed state is trained to equal (None: none)."""
        return [None] * self.num_hidden_states

    @property
    def state_names(self) -> list[str]:
        """A short label per exposed state, for plots: ``x0``, then ``h1``, ``h2``..."""
        return default_state_names(self.num_hidden_states)

    def training_options(self, step: int, total_steps: int) -> dict[str, Any]:
        """Keyword arguments of ``forward`` at optimiser ``step`` of ``total_steps`` of a
        training run (a schedule's current values); none by default."""
        return {}

    def parameter_count(self, training: bool = False) -> int:
        """Parameters of the model as used after training (without training-only heads),
        or all of them with ``training=True``."""
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if training or not name.startswith(self.training_only_prefixes)
        )

    def teacher_prefix_pairs(self) -> list[tuple[str, str]]:
        """``(student prefix, transformers prefix)`` of every module that has a counterpart
        in a HuBERT/WavLM-style model; subclasses add their blocks to the front-end's. A
        light front-end's feature extractor has none (everything after it has)."""
        pairs = list(FRONTEND_PREFIXES.items())
        if self.config.frontend != "conv":
            pairs = [(s, t) for s, t in pairs if s != FRONTEND_FEATURES]
        return pairs

    # --- forward ---------------------------------------------------------------------
    def _front(
        self, waveforms: Tensor, lengths: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor, bool]:
        """``(x0, frame lengths, valid mask, padded)``; full-length batches take the
        unmasked path (:func:`full_length`) and count as not padded."""
        if waveforms.dim() != 2:
            raise ValueError(
                f"waveforms must be [batch, samples], got shape {tuple(waveforms.shape)}"
            )
        if lengths is not None:
            lengths = lengths.to(waveforms.device).long()
            if full_length(lengths, waveforms.shape[1]):
                lengths = None
        return (*self.frontend(waveforms, lengths), lengths is not None)

    def _down(self, x0: Tensor, frames: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """The transformer's input and mask (merged frames with ``transformer_stride``)."""
        return (x0, mask) if self.frame_rate is None else self.frame_rate.down(x0, frames, mask)

    def _up(self, states: list[Tensor], frames: int) -> list[Tensor]:
        """The transformer's states at the front-end's frame rate."""
        if self.frame_rate is None:
            return states
        return [self.frame_rate.up(h, frames) for h in states]

    def _output(
        self, states: list[Tensor], frames: Tensor, predictions: list[Tensor], padded: bool
    ) -> EncoderOutput:
        out = EncoderOutput(states, frames, predictions)
        # The encoder contract: zero past each utterance's frames (nothing to do unpadded).
        # Training leaves them as computed: the loss masks them, and the step is unchanged.
        return out.zero_padding() if padded and not self.training else out

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Valid frames for inputs of ``lengths`` samples: floor((n - 400) / 320) + 1
        (for every front-end: they frame the waveform like the teacher)."""
        return self.geometry.output_lengths(lengths)

    # --- init ------------------------------------------------------------------------
    def init_from_teacher(self, teacher) -> list[str]:
        """Copy the teacher's front-end and first block(s) (see :mod:`.weights`)."""
        from gendistiller.students.weights import init_from_teacher

        return init_from_teacher(self, teacher, self.teacher_prefix_pairs())

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # HuBERT's scheme, so random students start where transformers' random HuBERT does.
        std = 0.02
        if isinstance(module, FrameRate):  # merge by averaging, unfold by repeating
            d, stride = module.down_bias.shape[0], module.stride
            init.copy_(module.down_weight, torch.eye(d).repeat(1, stride) / stride)
            for param in (module.down_bias, module.up_weight, module.up_bias):
                init.zeros_(param)
        elif isinstance(module, PositionalConvEmbedding):
            conv = module.conv
            bound = 2.0 / (conv.kernel_size[0] * conv.in_channels // conv.groups) ** 0.5
            init.normal_(conv.parametrizations.weight.original1, mean=0.0, std=bound)
            init.constant_(conv.parametrizations.weight.original0, 1.0)
            init.zeros_(conv.bias)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.GroupNorm, BandMeanNorm)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.Conv1d) and not hasattr(module, "parametrizations"):
            init.kaiming_normal_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
