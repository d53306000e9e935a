"""transformers checkpoints: the baseline as a plain ``HubertModel``, GenDistiller with its code.

DistilHuBERT without its training-only prediction heads *is* a shallow HuBERT: the same
conv encoder, positional convolution and post-LN blocks under the same parameter names
(:mod:`gendistiller.students.weights`). It ships as a ``HubertModel`` checkpoint that
``transformers.AutoModel.from_pretrained`` loads with no gendistiller installed.

Each student class says which of the two it is (``export_kind``); this module holds one
writer and one reloader per kind, so it never asks which class it was given.

GenDistiller has no transformers counterpart. Its folder is the student as saved by
``save_pretrained`` (so :func:`gendistiller.load_student` and, with gendistiller imported,
``AutoModel`` load it) plus the modelling code and an ``auto_map``, so that
``AutoModel.from_pretrained(folder, trust_remote_code=True)`` also works without gendistiller.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from transformers import HubertConfig, HubertModel

from gendistiller.errors import CheckpointError
from gendistiller.io import write_text
from gendistiller.students.base import StudentModel
from gendistiller.students.weights import map_state_dict

#: Oldest transformers release each export loads in (the model card states it).
#: ``make test-bounds`` loads both exports with these releases and with the newest
#: (tests/packaging/test_export_loaders.py); GenDistiller's code needs the dataclass
#: configs of transformers 5.4, a plain HubertModel loads in 4.x too.
TRANSFORMERS_RANGE = {"hubert": "4.45", "remote_code": "5.4"}
#: Newest release the bounds check loaded them with, when this range was last checked.
TRANSFORMERS_CHECKED_NEWEST = "5.24"


def hubert_config(student: StudentModel) -> HubertConfig:
    """The ``HubertConfig`` whose model computes what ``student`` computes at inference."""
    cfg = student.config
    return HubertConfig(
        conv_dim=list(cfg.conv_dim),
        conv_kernel=list(cfg.conv_kernel),
        conv_stride=list(cfg.conv_stride),
        conv_bias=cfg.conv_bias,
        feat_extract_norm="group",
        feat_extract_activation="gelu",
        feat_proj_layer_norm=cfg.feature_layer_norm,
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        hidden_act=cfg.hidden_act,
        num_conv_pos_embeddings=cfg.num_conv_pos_embeddings,
        num_conv_pos_embedding_groups=cfg.num_conv_pos_embedding_groups,
        do_stable_layer_norm=False,
        layer_norm_eps=cfg.layer_norm_eps,
        hidden_dropout=cfg.hidden_dropout,
        attention_dropout=cfg.attention_dropout,
        activation_dropout=cfg.activation_dropout,
        feat_proj_dropout=cfg.feat_proj_dropout,
        # Inference only: no SpecAugment masking (and so no mask embedding), no layer drop.
        apply_spec_augment=False,
        mask_time_prob=0.0,
        mask_feature_prob=0.0,
        layerdrop=0.0,
        architectures=["HubertModel"],
    )


def to_hubert(student: StudentModel) -> HubertModel:
    """A ``HubertModel`` with the student's weights (prediction heads dropped), for a
    student whose ``teacher_prefix_pairs`` cover a whole HuBERT (``export_kind="hubert"``)."""
    if student.export_kind != "hubert":
        raise CheckpointError(
            f"{type(student).__name__} is no HubertModel (export_kind {student.export_kind!r}):"
            " it ships with its code (export_transformers)"
        )
    state = map_state_dict(student.state_dict(), student.teacher_prefix_pairs())
    with torch.random.fork_rng(devices=[]):  # random init is overwritten; keep the caller's RNG
        model = HubertModel(hubert_config(student))
    model.load_state_dict(state, strict=True)  # every HuBERT weight must come from the student
    return model.eval()


def export_transformers(student: StudentModel, out_dir: str | os.PathLike) -> list[str]:
    """Write ``student`` as a transformers checkpoint folder; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    before = _mtimes(out)
    if student.export_kind not in _WRITERS:
        raise CheckpointError(f"cannot export {type(student).__name__} to transformers")
    _WRITERS[student.export_kind](student, out)
    write_text(out / "README.md", model_card(student))
    # only what this call wrote, not what the folder held before
    return sorted(name for name, mtime in _mtimes(out).items() if before.get(name) != mtime)


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


def reloaded_states(
    student: StudentModel, out_dir: str | os.PathLike, wave: torch.Tensor
) -> list[torch.Tensor]:
    """Hidden states of ``wave`` from the exported folder, loaded back the way its users
    load it (to check the export)."""
    return list(_RELOADERS[student.export_kind](Path(out_dir), wave))


def _write_hubert(student: StudentModel, out: Path) -> None:
    to_hubert(student).save_pretrained(out)


def _write_remote_code(student: StudentModel, out: Path) -> None:
    from gendistiller.export.remote_code import auto_map, write_remote_code

    student.save_pretrained(out)
    write_remote_code(out, type(student.config), type(student))
    config_file = out / "config.json"
    config = json.loads(config_file.read_text())
    config["auto_map"] = auto_map(type(student.config), type(student))
    write_text(config_file, json.dumps(config, indent=2, sort_keys=True) + "\n")


def _reload_hubert(out: Path, wave: torch.Tensor):
    model = HubertModel.from_pretrained(out).eval()
    return model(wave, output_hidden_states=True).hidden_states


def _reload_student(out: Path, wave: torch.Tensor):
    from gendistiller.students.io import load_student

    return load_student(out)(wave).hidden_states


_WRITERS = {"hubert": _write_hubert, "remote_code": _write_remote_code}
_RELOADERS = {"hubert": _reload_hubert, "remote_code": _reload_student}


_USAGE = {
    "hubert": """\
A plain `HubertModel`: transformers loads it, gendistiller is not needed.
{requirement}

```python
import torch
from transformers import AutoModel

model = AutoModel.from_pretrained("PATH_OR_REPO").eval()
wave = torch.zeros(1, 16000)  # mono float32 at 16 kHz
with torch.no_grad():
    states = model(wave, output_hidden_states=True).hidden_states  # {num_hidden_states} x [1, 49, {hidden_size}]
```

Like HuBERT Base, the model has a group-norm front-end and no attention mask: run one
utterance at a time (or utterances of one length), not zero-padded batches.
""",
    "remote_code": """\
With gendistiller installed (`pip install gendistiller`):

```python
import gendistiller

model = gendistiller.load_student("PATH")  # or transformers.AutoModel.from_pretrained after `import gendistiller`
out = model(waveforms, lengths)            # out.hidden_states: {num_hidden_states} x [B, T, {hidden_size}]
```

Without gendistiller, transformers runs the modelling code shipped in this folder
(`students_*.py`, generated from gendistiller's sources). Read it before trusting it.
{requirement}

```python
from transformers import AutoModel

model = AutoModel.from_pretrained("PATH_OR_REPO", trust_remote_code=True).eval()
out = model(waveforms, lengths)            # same outputs as above
```

Padded batches are fine: pass each utterance's length in samples.
""",
}


def model_card(student: StudentModel) -> str:
    """The folder's README.md: what the model is and how to load it (hub model card)."""
    cfg = student.config
    low = TRANSFORMERS_RANGE[student.export_kind]
    facts = {
        "hidden_size": cfg.hidden_size,
        "num_hidden_states": student.num_hidden_states,
        "requirement": f"It needs transformers >= {low} (checked with {low} and "
        f"{TRANSFORMERS_CHECKED_NEWEST}) and torch.\n",
    }
    return (
        "---\nlibrary_name: transformers\ntags: [audio, speech, self-supervised, distillation, gendistiller]\n---\n\n"
        f"# {type(student).__name__} exported by gendistiller\n\n"
        f"A distilled speech encoder: {student.parameter_count() / 1e6:.2f}M parameters, "
        f"{student.num_hidden_states} hidden states of width {cfg.hidden_size} at 50 frames/s "
        f"(stride {student.geometry.stride} samples at 16 kHz), trained to reproduce teacher layers "
        f"{', '.join(map(str, cfg.target_layers))}.\n\n"
        + _USAGE[student.export_kind].format(**facts)
    )
