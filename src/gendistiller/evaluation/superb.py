"""Any encoder as a SUPERB (s3prl) upstream: the thin adapter evaluation uses.

:class:`Upstream` puts any encoder (:mod:`gendistiller.encoders`: a student, a teacher,
an ONNX export) behind one frozen interface. It speaks both forms of the s3prl contract:

- legacy ``UpstreamExpert`` (what ``run_downstream.py`` and the SUPERB recipes call):
  ``upstream(list of 1-D 16 kHz waveforms) -> {"hidden_states": [B x T x D, ...],
  "last_hidden_state": B x T x D}`` plus ``get_downsample_rates(key) -> 320``;
- the newer ``S3PRLUpstream`` form: ``upstream(wavs [B, N] or [B, N, 1], wavs_len [B])
  -> (hidden_states, hidden_states_len)``, two lists with one entry per state, and the
  properties ``num_layers``, ``hidden_sizes`` and ``downsample_rates``.

Every state has the same width and stride; frame ``t`` of an ``n``-sample input exists
for ``t < floor((n - 400) / 320) + 1`` (the encoder's :class:`~gendistiller.encoders.FrameGeometry`),
and frames past an utterance's end are zero, so a padded batch gives each utterance the
frames it gets alone. :class:`UpstreamExpert` is the name s3prl's hub looks for (see
docs/superb.md); specs are those of :func:`~gendistiller.encoders.load_encoder`.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from gendistiller.encoders.base import Encoder, EncoderOutput, fingerprint
from gendistiller.encoders.resolve import load_encoder

STUDENT, TEACHER = "student", "teacher"

#: Kept for users of earlier releases: the upstream returns an :class:`EncoderOutput`.
UpstreamOutput = EncoderOutput


class Upstream(nn.Module):
    """A frozen encoder with the SUPERB upstream interface."""

    def __init__(self, model: Encoder, name: str = "", spec: str = ""):
        super().__init__()
        if not isinstance(model, Encoder):
            raise TypeError(
                f"expected an encoder (gendistiller.encoders), got {type(model).__name__}"
            )
        self.model = model
        self.kind = STUDENT if getattr(model, "kind", TEACHER) == STUDENT else TEACHER
        self.spec = spec or model.name or type(model).__name__
        self.name = name or self.spec
        if isinstance(model, nn.Module):
            model.requires_grad_(False)
            model.eval()

    # --- facts -------------------------------------------------------------------------
    @property
    def config(self):
        return self.model.config

    @property
    def architecture(self) -> str:
        """The class that computes the states (a teacher's transformers model class)."""
        return type(getattr(self.model, "model", self.model)).__name__

    @property
    def hidden_size(self) -> int:
        return int(self.model.hidden_size)

    @property
    def num_hidden_states(self) -> int:
        return int(self.model.num_hidden_states)

    @property
    def downsample_rate(self) -> int:
        """Waveform samples per frame (320 = 20 ms for every supported encoder)."""
        return self.model.geometry.stride

    @property
    def target_layers(self) -> list[int]:
        """The teacher layers a student estimates (none for other encoders)."""
        layers = getattr(self.config, "target_layers", None) if self.kind == STUDENT else None
        return [int(x) for x in layers or []]

    def parameter_count(self, training: bool = False) -> int:
        """Parameters used at inference (a student's training-only heads excluded)."""
        return self.model.parameter_count(training)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frames for inputs of ``lengths`` samples: floor((n - 400) / 320) + 1."""
        return self.model.geometry.output_lengths(lengths)

    def fingerprint(self) -> str:
        """A digest of the architecture and every weight: equal digests, equal features.
        Computed once (the weights are frozen)."""
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        return fingerprint(self.model)

    def train(self, mode: bool = True) -> Upstream:
        # Frozen for good: evaluation and SUPERB need the deterministic (dropout-free) model.
        return super().train(False)

    # --- the uniform forward --------------------------------------------------------------
    @torch.no_grad()
    def extract(self, waveforms: Tensor, lengths: Tensor | None = None) -> EncoderOutput:
        """All hidden states of a padded batch ``[B, N]`` with ``lengths`` in samples."""
        if waveforms.dim() != 2:
            raise ValueError(
                f"waveforms must be [batch, samples], got shape {tuple(waveforms.shape)}"
            )
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[1], dtype=torch.long)
        lengths = lengths.to(waveforms.device).long()
        field = self.model.geometry.receptive_field
        if int(lengths.min()) < field:
            raise ValueError(
                f"{self.name}: inputs need at least {field} samples "
                f"({1000 * field / 16000:g} ms), got {int(lengths.min())}"
            )
        out = self.model(waveforms, lengths)
        return EncoderOutput(out.hidden_states, out.lengths.to(waveforms.device), out.predictions)

    # --- the s3prl contract --------------------------------------------------------------
    def forward(self, wavs, wavs_len: Tensor | None = None):
        """``upstream(list_of_wavs)`` -> dict (legacy form); ``upstream(wavs, wavs_len)``
        -> ``(hidden_states, hidden_states_len)`` (``S3PRLUpstream`` form)."""
        if isinstance(wavs, (list, tuple)):
            if wavs_len is not None:
                raise TypeError("pass either a list of waveforms or a padded batch with wavs_len")
            return self.forward_list(list(wavs))
        if wavs_len is None:
            raise TypeError("a padded batch needs wavs_len (valid samples per waveform)")
        return self.forward_padded(wavs, wavs_len)

    def forward_list(self, wavs: list[Tensor]) -> dict[str, Tensor | list[Tensor]]:
        if not wavs:
            raise ValueError("no waveforms given")
        for i, w in enumerate(wavs):
            if w.dim() != 1:
                raise ValueError(
                    f"waveform {i} must be 1-D (16 kHz mono), got shape {tuple(w.shape)}"
                )
        lengths = torch.tensor([w.shape[0] for w in wavs], device=wavs[0].device)
        padded = nn.utils.rnn.pad_sequence(list(wavs), batch_first=True)
        out = self.extract(padded, lengths)
        return {"hidden_states": out.hidden_states, "last_hidden_state": out.hidden_states[-1]}

    def forward_padded(self, wavs: Tensor, wavs_len: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        if wavs.dim() == 3:
            if wavs.shape[-1] != 1:
                raise ValueError(f"wavs must be [B, N] or [B, N, 1], got shape {tuple(wavs.shape)}")
            wavs = wavs.squeeze(-1)
        out = self.extract(wavs, torch.as_tensor(wavs_len, device=wavs.device))
        frames = int(out.lengths.max())
        states = [s[:, :frames] for s in out.hidden_states]
        return states, [out.lengths.clone() for _ in states]

    def get_downsample_rates(self, key: str = "hidden_states") -> int:
        return self.downsample_rate

    @property
    def num_layers(self) -> int:
        """Number of hidden states (s3prl's name for it)."""
        return self.num_hidden_states

    @property
    def hidden_sizes(self) -> list[int]:
        return [self.hidden_size] * self.num_hidden_states

    @property
    def downsample_rates(self) -> list[int]:
        return [self.downsample_rate] * self.num_hidden_states


def load_upstream(spec: str | os.PathLike, name: str = "", seed: int = 0) -> Upstream:
    """The upstream of any :func:`~gendistiller.encoders.load_encoder` spec (a student or
    run folder, a preset with random weights from ``seed``, a teacher, an ``.onnx`` file)."""
    return Upstream(load_encoder(spec, seed=seed), name, str(spec))


class UpstreamExpert(Upstream):
    """What s3prl's hub builds: ``UpstreamExpert(ckpt, model_config=None, **kwargs)``,
    ``ckpt`` being any :func:`~gendistiller.encoders.load_encoder` spec."""

    def __init__(self, ckpt: str, model_config: str | None = None, **kwargs):
        super().__init__(load_encoder(ckpt), "", str(ckpt))
