"""One teacher interface over transformers' speech SSL encoders.

Supported: WavLM, HuBERT, wav2vec 2.0, data2vec-audio, loaded from a hub id, a local
``save_pretrained`` folder, or built from a config with random weights (``random:TYPE``,
``random:TYPE-tiny``). The teacher is frozen, in eval mode, with layerdrop off, and runs
under ``no_grad``.

Layer indexing is transformers' ``output_hidden_states``: state 0 is the input to the
first transformer block (after the positional convolution and, for post-LN models, the
LayerNorm); state k is the output of block k. A 12-layer model yields 13 states.

Padding: base models with a group-norm front-end (``feat_extract_norm="group"``) must not
get an attention mask and change their output when zero-padded, so a batch of unequal
lengths is run in groups of equal length. Layer-norm models get an attention mask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from transformers import AutoConfig, PreTrainedConfig, PreTrainedModel

from gendistiller.encoders.base import EncoderOutput
from gendistiller.encoders.geometry import FrameGeometry, lengths_to_mask
from gendistiller.encoders.spec import EMBEDDED
from gendistiller.errors import TeacherError, one_line
from gendistiller.pretrained import SPEECH_ENCODERS, load_model, load_speech_encoder, not_speech

# A 2-layer, 32-d encoder with the standard strides: pairs with the ``*-tiny`` student presets.
TINY_TEACHER = dict(
    conv_dim=(32,) * 7,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)

#: The small teacher pretrained by this project and shipped inside the package.
EMBEDDED_DIR = Path(__file__).parent / "assets" / "embedded_teacher"


#: Kept for users of earlier releases: a teacher returns an :class:`EncoderOutput`.
TeacherOutput = EncoderOutput


class Teacher(nn.Module):
    """A frozen speech encoder that returns all its hidden states (an encoder, see
    :mod:`gendistiller.encoders`)."""

    kind = "teacher"

    def __init__(self, model: PreTrainedModel, name: str = "teacher"):
        super().__init__()
        model_type = getattr(model.config, "model_type", "")
        if model_type not in SPEECH_ENCODERS:
            raise TeacherError(not_speech(name, model_type))
        self.name = name
        self.model = model
        self.model.config.layerdrop = 0.0
        self.model.requires_grad_(False)
        self.model.eval()
        cfg = model.config
        self.group_norm_frontend = getattr(cfg, "feat_extract_norm", "group") == "group"
        self.geometry = FrameGeometry.from_config(cfg)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config: PreTrainedConfig, seed: int = 0, name: str | None = None
    ) -> Teacher:
        """A teacher with random weights (reproducible from ``seed``): tests and benchmarks."""
        if config.model_type not in SPEECH_ENCODERS:
            raise TeacherError(not_speech(name or "config", config.model_type))
        model_cls = SPEECH_ENCODERS[config.model_type][1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = model_cls(config)
        return cls(model, name or f"random:{config.model_type}")

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike) -> Teacher:
        """Load from a local ``save_pretrained`` folder or a hub id (cache first, then hub)."""
        return cls(load_speech_encoder(name_or_path), str(name_or_path))

    # --- facts -------------------------------------------------------------------------
    @property
    def config(self) -> PreTrainedConfig:
        return self.model.config

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_hidden_states(self) -> int:
        return self.num_layers + 1

    def parameter_count(self, training: bool = False) -> int:
        """All parameters (a teacher has no training-only ones)."""
        return sum(p.numel() for p in self.model.parameters())

    def check_layers(self, layers: list[int] | tuple[int, ...]) -> None:
        """Raise :class:`TeacherError` unless every layer is in ``0..num_layers``."""
        bad = [layer for layer in layers if not 0 <= int(layer) <= self.num_layers]
        if bad:
            raise TeacherError(
                f"target layer {bad[0]} is out of range for teacher {self.name!r}, which has "
                f"{self.num_layers} layers (valid: 0 = input to the first block .. {self.num_layers})"
            )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return self.geometry.output_lengths(lengths)

    def train(self, mode: bool = True) -> Teacher:
        # Frozen for good: dropout and layerdrop stay off whatever the caller asks.
        return super().train(False)

    # --- forward -----------------------------------------------------------------------
    @torch.no_grad()
    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> EncoderOutput:
        if waveforms.dim() != 2:
            raise ValueError(
                f"waveforms must be [batch, samples], got shape {tuple(waveforms.shape)}"
            )
        batch, n = waveforms.shape
        if lengths is None:
            lengths = torch.full((batch,), n, dtype=torch.long, device=waveforms.device)
        lengths = lengths.to(waveforms.device).long()
        frames = self.output_lengths(lengths)
        if bool((lengths == n).all()):
            return EncoderOutput(self._run(waveforms, None), frames)
        if not self.group_norm_frontend:
            mask = lengths_to_mask(lengths, n).long()
            states = self._run(waveforms, mask)
            return EncoderOutput(states, frames).zero_padding()
        # Group-norm models: one forward per distinct length, never on padding.
        t_max = self.geometry.num_frames(n)
        out: list[Tensor] | None = None
        for length in torch.unique(lengths).tolist():
            idx = (lengths == length).nonzero(as_tuple=True)[0]
            part = self._run(waveforms[idx, :length], None)
            if out is None:
                out = [s.new_zeros(batch, t_max, s.shape[-1]) for s in part]
            for dst, src in zip(out, part, strict=True):
                dst[idx, : src.shape[1]] = src
        assert out is not None
        return EncoderOutput(out, frames)

    def _run(self, waveforms: Tensor, attention_mask: Tensor | None) -> list[Tensor]:
        kwargs: dict[str, Any] = {"output_hidden_states": True}
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask
        return list(self.model(waveforms, **kwargs).hidden_states)


def load_teacher(spec: str, seed: int = 0, **overrides: Any) -> Teacher:
    """A teacher from a spec string.

    ``spec``: a hub id (``microsoft/wavlm-base-plus``), a local folder, ``embedded`` (the
    small HuBERT shipped in the package, see its model card), ``random:TYPE`` (the
    transformers default config of TYPE, e.g. WavLM Base+ shape, random weights) or
    ``random:TYPE-tiny`` (a 2-layer, 32-d encoder). ``overrides`` are config keys for
    ``random:`` specs.
    """
    if spec.startswith("random:"):
        return Teacher.from_config(teacher_config(spec, **overrides), seed=seed, name=spec)
    _no_overrides(spec, overrides)
    if spec == EMBEDDED:
        _check_embedded()
        return Teacher(load_model(str(EMBEDDED_DIR), EMBEDDED, local_files_only=True), EMBEDDED)
    return Teacher.from_pretrained(spec)


def teacher_config(spec: str, **overrides: Any) -> PreTrainedConfig:
    """The config of the teacher ``spec`` names, without loading weights (for a hub id,
    from the local cache, or by fetching ``config.json`` alone)."""
    if spec.startswith("random:"):
        kind = spec.split(":", 1)[1]
        tiny = kind.endswith("-tiny")
        model_type = kind[: -len("-tiny")] if tiny else kind
        if model_type not in SPEECH_ENCODERS:
            raise TeacherError(
                f"{spec}: unknown encoder type {model_type!r}; choose one of {', '.join(SPEECH_ENCODERS)}"
            )
        try:
            return SPEECH_ENCODERS[model_type][0](**{**(TINY_TEACHER if tiny else {}), **overrides})
        except Exception as err:  # strict config validation
            raise TeacherError(f"{spec}: invalid teacher config ({one_line(err)})") from None
    _no_overrides(spec, overrides)
    if spec == EMBEDDED:
        _check_embedded()
        source = str(EMBEDDED_DIR)
    else:
        source = spec
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=Path(source).exists())
    except (OSError, ValueError) as err:
        raise TeacherError(f"{spec}: cannot read the model config ({one_line(err)})") from None
    if config.model_type not in SPEECH_ENCODERS:
        raise TeacherError(not_speech(spec, config.model_type))
    return config


def _no_overrides(spec: str, overrides: dict[str, Any]) -> None:
    if overrides:
        raise TeacherError(
            f"{spec}: config overrides apply to random: teachers only, got {sorted(overrides)}"
        )


def _check_embedded() -> None:
    if not (EMBEDDED_DIR / "model.safetensors").is_file():
        raise TeacherError(
            f"the embedded teacher is not installed in this copy of gendistiller ({EMBEDDED_DIR}); "
            "build it with `gendistiller pretrain-teacher --install`"
        )
