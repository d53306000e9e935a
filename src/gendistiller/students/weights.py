"""Where a student's weights sit in a transformers HuBERT/WavLM-style model.

One table serves both directions: initialising a student from its teacher (as DistilHuBERT
does) and exporting the baseline as a plain ``HubertModel`` checkpoint. Each student class
extends the front-end's table with its own blocks (``teacher_prefix_pairs``); a light
front-end's feature extractor has no counterpart and is left out, and a positional
convolution shorter than the teacher's takes its centre taps (:func:`centre_taps`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gendistiller.errors import TeacherError

#: The waveform CNN's prefix: only the ``conv`` front-end has a teacher counterpart.
FRONTEND_FEATURES = "frontend.feature_extractor."
POS_CONV = "frontend.pos_conv_embed."
#: student prefix -> transformers base-model prefix, for the shared front-end.
FRONTEND_PREFIXES: dict[str, str] = {
    FRONTEND_FEATURES: "feature_extractor.",
    "frontend.feature_projection.": "feature_projection.",
    POS_CONV: "encoder.pos_conv_embed.",
    "frontend.layer_norm.": "encoder.layer_norm.",
}


def rename(key: str, pairs: list[tuple[str, str]]) -> str | None:
    """``key`` with its prefix replaced by the first matching pair, or None."""
    for src, dst in pairs:
        if key.startswith(src):
            return dst + key[len(src) :]
    return None


def map_state_dict(state: dict[str, Tensor], pairs: list[tuple[str, str]]) -> dict[str, Tensor]:
    """Rename ``state``'s keys by prefix pairs ``(from, to)``; keys under no prefix are dropped."""
    return {new: value for key, value in state.items() if (new := rename(key, pairs)) is not None}


def centre_taps(key: str, mine: Tensor, theirs: Tensor) -> Tensor:
    """The teacher's tensor, or, for a positional convolution with fewer taps than the
    teacher's (the fast presets': 32 of 128), its centre taps: the student's conv then
    computes the teacher's restricted to the nearest frames (weight norm is per tap, so
    both of its tensors crop alike)."""
    if (
        not key.startswith(POS_CONV)
        or mine.shape[:-1] != theirs.shape[:-1]
        or mine.shape[-1] >= theirs.shape[-1]
    ):
        return theirs
    start = theirs.shape[-1] // 2 - mine.shape[-1] // 2
    return theirs[..., start : start + mine.shape[-1]]


@torch.no_grad()
def init_from_teacher(student, teacher, pairs: list[tuple[str, str]]) -> list[str]:
    """Copy the teacher's modules named by ``pairs`` (``(student prefix, teacher prefix)``,
    from ``student.teacher_prefix_pairs()``) into ``student``; returns the
    student parameter names that were set. Raises :class:`TeacherError` when the
    architectures do not line up (different widths, layer-norm front-ends, pre-LN blocks)."""
    model = getattr(teacher, "model", teacher)
    tcfg = model.config
    name = getattr(teacher, "name", tcfg.model_type)
    if getattr(tcfg, "feat_extract_norm", "group") != "group":
        raise TeacherError(
            f"cannot initialise the student from {name!r}: its conv front-end uses layer norm, the "
            "student's uses group norm; set init_from_teacher to false"
        )
    if getattr(tcfg, "do_stable_layer_norm", False):
        raise TeacherError(
            f"cannot initialise the student from {name!r}: its blocks are pre-LN (stable layer norm), "
            "the student's are post-LN; set init_from_teacher to false"
        )
    needed = max(
        (int(t.split(".")[2]) for _, t in pairs if t.startswith("encoder.layers.")), default=-1
    )
    if needed >= tcfg.num_hidden_layers:
        raise TeacherError(
            f"cannot initialise the student from {name!r}: it needs teacher block {needed} but the "
            f"teacher has {tcfg.num_hidden_layers}"
        )
    teacher_state = model.state_dict()
    copied: list[str] = []
    for skey, svalue in student.state_dict().items():
        tkey = rename(skey, pairs)
        if tkey is None:
            continue
        if tkey not in teacher_state:
            raise TeacherError(
                f"cannot initialise the student from {name!r}: the teacher has no {tkey}"
            )
        tvalue = centre_taps(skey, svalue, teacher_state[tkey])
        if tvalue.shape != svalue.shape:
            raise TeacherError(
                f"cannot initialise the student from {name!r}: {skey} has shape {tuple(svalue.shape)} but "
                f"the teacher's {tkey} has {tuple(tvalue.shape)}; match the student's sizes to the "
                "teacher or set init_from_teacher to false"
            )
        svalue.copy_(tvalue)
        copied.append(skey)
    return copied
