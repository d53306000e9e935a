"""Any student or teacher as a SUPERB (s3prl) upstream, and the one wrapper evaluation uses.

:class:`Upstream` puts a saved or preset student and a :class:`~gendistiller.teachers.Teacher`
behind one frozen interface. It speaks both forms of the s3prl contract:

- legacy ``UpstreamExpert`` (what ``run_downstream.py`` and the SUPERB recipes call):
  ``upstream(list of 1-D 16 kHz waveforms) -> {"hidden_states": [B x T x D, ...],
  "last_hidden_state": B x T x D}`` plus ``get_downsample_rates(key) -> 320``;
- the newer ``S3PRLUpstream`` form: ``upstream(wavs [B, N] or [B, N, 1], wavs_len [B])
  -> (hidden_states, hidden_states_len)``, two lists with one entry per state, and the
  properties ``num_layers``, ``hidden_sizes`` and ``downsample_rates``.

Every state has the same width and stride; frame ``t`` of an ``n``-sample input exists
for ``t < floor((n - 400) / 320) + 1``, and frames past an utterance's end are zero, so a
padded batch gives each utterance the frames it gets alone. :class:`UpstreamExpert` is
the name s3prl's hub looks for (see docs/superb.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from gendistiller.errors import CheckpointError
from gendistiller.students import StudentModel, load_student
from gendistiller.students.components import lengths_to_mask
from gendistiller.students.presets import CONFIG_TYPES, PRESETS
from gendistiller.teachers import Teacher, load_teacher

STUDENT, TEACHER = "student", "teacher"


@dataclass
class UpstreamOutput:
    """``hidden_states``: all states ``[B, T, D]`` (zero past each utterance's end);
    ``lengths``: valid frames ``[B]``; ``predictions``: a student's estimates of its
    teacher's ``target_layers`` (``None`` for teachers)."""

    hidden_states: list[Tensor]
    lengths: Tensor
    predictions: list[Tensor] | None = None


class Upstream(nn.Module):
    """A frozen speech encoder, student or teacher, with the SUPERB upstream interface."""

    def __init__(self, model: StudentModel | Teacher, name: str = "", spec: str = ""):
        super().__init__()
        if not isinstance(model, (StudentModel, Teacher)):
            raise TypeError(f"expected a student or a Teacher, got {type(model).__name__}")
        self.model = model
        self.kind = STUDENT if isinstance(model, StudentModel) else TEACHER
        self.spec = spec or getattr(model, "name", "") or type(model).__name__
        self.name = name or self.spec
        self.model.requires_grad_(False)
        self.model.eval()

    # --- facts -------------------------------------------------------------------------
    @property
    def config(self):
        return self.model.config

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def num_hidden_states(self) -> int:
        if isinstance(self.model, StudentModel):
            return self.model.num_hidden_states
        return self.model.num_layers + 1

    @property
    def downsample_rate(self) -> int:
        """Waveform samples per frame (320 = 20 ms for every supported encoder)."""
        return int(np.prod(self.config.conv_stride))

    @property
    def target_layers(self) -> list[int]:
        return [int(x) for x in self.config.target_layers] if self.kind == STUDENT else []

    def num_parameters(self) -> int:
        """Parameters used at inference (a student's training-only heads excluded)."""
        if isinstance(self.model, StudentModel):
            return self.model.num_parameters(deployed=True)
        return sum(p.numel() for p in self.model.parameters())

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frames for inputs of ``lengths`` samples: floor((n - 400) / 320) + 1."""
        return self.model.output_lengths(lengths)

    def fingerprint(self) -> str:
        """A digest of the architecture and every weight: equal digests, equal features.
        Computed once (the weights are frozen)."""
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        digest = hashlib.sha1(
            json.dumps(self.config.to_dict(), sort_keys=True, default=str).encode()
        )
        for key, value in sorted(self.model.state_dict().items()):
            digest.update(key.encode())
            digest.update(
                value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
            )
        return digest.hexdigest()[:16]

    def train(self, mode: bool = True) -> Upstream:
        # Frozen for good: evaluation and SUPERB need the deterministic (dropout-free) model.
        return super().train(False)

    # --- the uniform forward --------------------------------------------------------------
    @torch.no_grad()
    def extract(self, waveforms: Tensor, lengths: Tensor | None = None) -> UpstreamOutput:
        """All hidden states of a padded batch ``[B, N]`` with ``lengths`` in samples."""
        if waveforms.dim() != 2:
            raise ValueError(
                f"waveforms must be [batch, samples], got shape {tuple(waveforms.shape)}"
            )
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[1], dtype=torch.long)
        lengths = lengths.to(waveforms.device).long()
        if int(lengths.min()) < 400:
            raise ValueError(
                f"{self.name}: inputs need at least 400 samples (25 ms), got {int(lengths.min())}"
            )
        out = self.model(waveforms, lengths)
        frames = out.lengths.to(waveforms.device)
        mask = lengths_to_mask(frames, out.hidden_states[0].shape[1])[..., None]
        states = [s * mask.to(s.dtype) for s in out.hidden_states]
        predictions = getattr(out, "predictions", None)
        if predictions is not None:
            predictions = [p * mask.to(p.dtype) for p in predictions]
        return UpstreamOutput(states, frames, predictions)

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
    """An upstream from a spec: a saved student folder (or a training run folder holding
    ``student/``), a student preset (random weights from ``seed``), or anything
    :func:`~gendistiller.teachers.load_teacher` accepts (hub id, folder, ``random:TYPE``)."""
    text = str(spec)
    path = Path(text).expanduser()
    if text in PRESETS and not path.exists():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return Upstream(load_student(text), name, text)
    if path.is_dir():
        for folder in (path, path / "student"):
            config = folder / "config.json"
            if config.is_file():
                if _model_type(config) in CONFIG_TYPES:
                    return Upstream(load_student(folder), name, text)
                return Upstream(load_teacher(str(folder), seed=seed), name, text)
        raise CheckpointError(
            f"{path}: no config.json (nor student/config.json): not a saved model folder"
        )
    return Upstream(load_teacher(text, seed=seed), name, text)


class UpstreamExpert(Upstream):
    """What s3prl's hub builds: ``UpstreamExpert(ckpt, model_config=None, **kwargs)``,
    ``ckpt`` being any :func:`load_upstream` spec (a student folder, a teacher id...)."""

    def __init__(self, ckpt: str, model_config: str | None = None, **kwargs):
        loaded = load_upstream(ckpt)
        super().__init__(loaded.model, loaded.name, loaded.spec)


def _model_type(config: Path) -> str:
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{config}: not readable JSON ({err})") from None
