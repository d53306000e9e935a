"""What both students share: the front-end, the output type, weight init, size counting.

A student is a transformers ``PreTrainedModel``: ``save_pretrained`` writes
``config.json`` + ``model.safetensors``; :func:`gendistiller.load_student` reads them back
strictly. ``forward(waveforms, lengths)`` returns a :class:`StudentOutput` whose
``hidden_states`` satisfy the SUPERB upstream contract (one width, 320-sample stride).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from transformers import PreTrainedModel
from transformers import initialization as init

from gendistiller.students.components import FrontEnd, PositionalConvEmbedding
from gendistiller.students.config import StudentConfig


@dataclass
class StudentOutput:
    """``hidden_states``: states exposed to downstream tasks, each ``[B, T, D]``.
    ``lengths``: valid frames per utterance. ``predictions``: one ``[B, T, D]`` tensor
    per ``config.target_layers`` entry, the student's estimate of that teacher layer."""

    hidden_states: list[Tensor]
    lengths: Tensor
    predictions: list[Tensor]

    @property
    def last_hidden_state(self) -> Tensor:
        return self.hidden_states[-1]


class StudentModel(PreTrainedModel):
    config_class = StudentConfig
    base_model_prefix = "student"
    main_input_name = "waveforms"
    input_modalities = "audio"

    #: Parameter-name prefixes that exist only for training (dropped from deployed counts).
    training_only_prefixes: tuple[str, ...] = ()

    def __init__(self, config: StudentConfig):
        super().__init__(config)
        self.frontend = FrontEnd(config)

    # --- sizes -----------------------------------------------------------------------
    def num_parameters(self, deployed: bool = True) -> int:  # type: ignore[override]
        """Parameters of the model as used after training (without training-only heads),
        or all of them with ``deployed=False``."""
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if not (deployed and name.startswith(self.training_only_prefixes))
        )

    @property
    def num_hidden_states(self) -> int:
        raise NotImplementedError

    # --- forward ---------------------------------------------------------------------
    def _front(self, waveforms: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        if waveforms.dim() != 2:
            raise ValueError(
                f"waveforms must be [batch, samples], got shape {tuple(waveforms.shape)}"
            )
        return self.frontend(
            waveforms, None if lengths is None else lengths.to(waveforms.device).long()
        )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Valid frames for inputs of ``lengths`` samples: floor((n - 400) / 320) + 1."""
        return self.frontend.feature_extractor.output_lengths(lengths)

    # --- init ------------------------------------------------------------------------
    def init_from_teacher(self, teacher) -> list[str]:
        """Copy the teacher's front-end and first block(s) (see :mod:`.weights`)."""
        from gendistiller.students.weights import init_from_teacher

        return init_from_teacher(self, teacher)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # HuBERT's scheme, so random students start where transformers' random HuBERT does.
        std = 0.02
        if isinstance(module, PositionalConvEmbedding):
            conv = module.conv
            bound = 2.0 / (conv.kernel_size[0] * conv.in_channels // conv.groups) ** 0.5
            init.normal_(conv.parametrizations.weight.original1, mean=0.0, std=bound)
            init.constant_(conv.parametrizations.weight.original0, 1.0)
            init.zeros_(conv.bias)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.Conv1d) and not hasattr(module, "parametrizations"):
            init.kaiming_normal_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
