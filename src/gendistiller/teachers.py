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
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from transformers import (
    AutoConfig,
    Data2VecAudioConfig,
    Data2VecAudioModel,
    HubertConfig,
    HubertModel,
    PreTrainedConfig,
    PreTrainedModel,
    Wav2Vec2Config,
    Wav2Vec2Model,
    WavLMConfig,
    WavLMModel,
)

from gendistiller.errors import TeacherError, one_line
from gendistiller.students.components import conv_output_lengths, lengths_to_mask

SPEECH_ENCODERS: dict[str, tuple[type[PreTrainedConfig], type[PreTrainedModel]]] = {
    "wavlm": (WavLMConfig, WavLMModel),
    "hubert": (HubertConfig, HubertModel),
    "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
    "data2vec-audio": (Data2VecAudioConfig, Data2VecAudioModel),
}

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
EMBEDDED = "embedded"
EMBEDDED_DIR = Path(__file__).parent / "assets" / "embedded_teacher"


@dataclass
class TeacherOutput:
    """``hidden_states``: ``num_layers + 1`` tensors ``[B, T, D]`` (zero beyond each
    utterance's valid frames); ``lengths``: valid frames per utterance."""

    hidden_states: list[Tensor]
    lengths: Tensor


class Teacher(nn.Module):
    """A frozen speech encoder that returns all its hidden states."""

    def __init__(self, model: PreTrainedModel, name: str = "teacher"):
        super().__init__()
        model_type = getattr(model.config, "model_type", "")
        if model_type not in SPEECH_ENCODERS:
            raise TeacherError(_not_speech(name, model_type))
        self.name = name
        self.model = model
        self.model.config.layerdrop = 0.0
        self.model.requires_grad_(False)
        self.model.eval()
        cfg = model.config
        self.group_norm_frontend = getattr(cfg, "feat_extract_norm", "group") == "group"

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config: PreTrainedConfig, seed: int = 0, name: str | None = None
    ) -> Teacher:
        """A teacher with random weights (reproducible from ``seed``): tests and benchmarks."""
        if config.model_type not in SPEECH_ENCODERS:
            raise TeacherError(_not_speech(name or "config", config.model_type))
        model_cls = SPEECH_ENCODERS[config.model_type][1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = model_cls(config)
        return cls(model, name or f"random:{config.model_type}")

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike) -> Teacher:
        """Load from a local ``save_pretrained`` folder or a hub id (cache first, then hub)."""
        name = str(name_or_path)
        path = Path(name).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise TeacherError(f"{path}: not a saved model folder (no config.json)")
            return cls(_load_model(str(path), name, local_files_only=True), name)
        if name.startswith((".", "/", "~")) or name.count("/") > 1:
            raise TeacherError(f"{name}: no such folder")
        try:  # already in the local hub cache: no network needed
            return cls(_load_model(name, name, local_files_only=True), name)
        except _NotCached:
            pass
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            raise TeacherError(
                f"teacher {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids "
                "downloading it; unset HF_HUB_OFFLINE where the hub is reachable, or pass a local folder "
                "written by save_pretrained"
            )
        _check_hub_reachable(name)
        return cls(_load_model(name, name, local_files_only=False), name)

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

    def check_layers(self, layers: list[int] | tuple[int, ...]) -> None:
        """Raise :class:`TeacherError` unless every layer is in ``0..num_layers``."""
        bad = [layer for layer in layers if not 0 <= int(layer) <= self.num_layers]
        if bad:
            raise TeacherError(
                f"target layer {bad[0]} is out of range for teacher {self.name!r}, which has "
                f"{self.num_layers} layers (valid: 0 = input to the first block .. {self.num_layers})"
            )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        cfg = self.model.config
        return conv_output_lengths(lengths, cfg.conv_kernel, cfg.conv_stride)

    def train(self, mode: bool = True) -> Teacher:
        # Frozen for good: dropout and layerdrop stay off whatever the caller asks.
        return super().train(False)

    # --- forward -----------------------------------------------------------------------
    @torch.no_grad()
    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> TeacherOutput:
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
            return TeacherOutput(self._run(waveforms, None), frames)
        if not self.group_norm_frontend:
            mask = lengths_to_mask(lengths, n).long()
            states = self._run(waveforms, mask)
            return TeacherOutput(_zero_padding(states, frames), frames)
        # Group-norm models: one forward per distinct length, never on padding.
        t_max = int(self.output_lengths(torch.tensor([n])).item())
        out: list[Tensor] | None = None
        for length in torch.unique(lengths).tolist():
            idx = (lengths == length).nonzero(as_tuple=True)[0]
            part = self._run(waveforms[idx, :length], None)
            if out is None:
                out = [s.new_zeros(batch, t_max, s.shape[-1]) for s in part]
            for dst, src in zip(out, part, strict=True):
                dst[idx, : src.shape[1]] = src
        assert out is not None
        return TeacherOutput(out, frames)

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
        return Teacher(_load_model(str(EMBEDDED_DIR), EMBEDDED, local_files_only=True), EMBEDDED)
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
        raise TeacherError(_not_speech(spec, config.model_type))
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


# --- helpers -----------------------------------------------------------------------------
class _NotCached(Exception):
    pass


def _not_speech(name: str, model_type: str) -> str:
    return (
        f"{name}: model type {model_type or 'unknown'!r} is not a supported speech encoder "
        f"(supported: {', '.join(SPEECH_ENCODERS)})"
    )


def _load_model(source: str, name: str, local_files_only: bool) -> PreTrainedModel:
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    except OSError as err:
        if local_files_only and not Path(source).exists():
            raise _NotCached from None
        raise TeacherError(f"{name}: cannot read the model config ({one_line(err)})") from None
    except ValueError as err:  # unknown model_type and the like
        raise TeacherError(f"{name}: {one_line(err)}") from None
    if config.model_type not in SPEECH_ENCODERS:
        raise TeacherError(_not_speech(name, config.model_type))
    model_cls = SPEECH_ENCODERS[config.model_type][1]
    try:
        # Many hub teachers ship only pytorch_model.bin: read with weights_only=True, which
        # restores tensors and refuses arbitrary pickled objects.
        model = model_cls.from_pretrained(
            source, local_files_only=local_files_only, weights_only=True
        )
    except OSError as err:
        if local_files_only and not Path(source).exists():
            raise _NotCached from None
        raise TeacherError(f"{name}: cannot load the weights ({one_line(err)})") from None
    # Teachers always run in fp32 (the embedded one is stored in fp16 to halve its size).
    return model.float()


def _check_hub_reachable(name: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not after half a minute of retries, when the hub is unreachable."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    result: list[BaseException | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(None)
        except OSError as err:
            result.append(err)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    error = result[0] if result else TimeoutError(f"no answer within {timeout:.0f} s")
    if error is not None:
        raise TeacherError(
            f"cannot reach the Hugging Face hub ({host}) to download teacher {name!r}: {one_line(error)}; "
            "set HF_HUB_OFFLINE=1 to use only the local cache, or pass a local folder written by save_pretrained"
        )


def _zero_padding(states: list[Tensor], frames: Tensor) -> list[Tensor]:
    mask = lengths_to_mask(frames, states[0].shape[1])[..., None]
    return [s * mask.to(s.dtype) for s in states]
