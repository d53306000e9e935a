"""How faithfully a student reproduces its teacher, on held-out audio.

Per target layer: mean L1 distance and mean cosine similarity between the student's
free-running prediction (eval mode, no teacher input) and the teacher's layer, over
valid frames, as the distillation loss measures them. And a student-state x
teacher-state similarity matrix (linear CKA, or mean frame cosine), which shows where
each student state sits in the teacher's hierarchy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gendistiller.errors import ConfigError
from gendistiller.evaluation.superb import STUDENT, Upstream
from gendistiller.students.base import StudentModel, default_state_names

METRICS = ("cka", "cosine")


@dataclass
class FidelityResult:
    student: str
    teacher: str
    target_layers: list[int]
    l1: list[float]  # per target layer
    cosine: list[float]  # per target layer
    similarity: list[list[float]]  # [student state][teacher state]
    similarity_metric: str
    state_targets: list[
        int | None
    ]  # per student state: the teacher layer it is trained to generate
    utterances: int
    frames: int
    similarity_frames: int
    # Per utterance: {"ids", "layers" (the target layers), "frames" (valid frames),
    # "cosine" ([mean cosine over its valid frames, per target layer], per utterance)}.
    items: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def linear_cka(x: Tensor, y: Tensor) -> float:
    """Linear CKA (Kornblith et al., 2019) between ``[N, D1]`` and ``[N, D2]`` features:
    ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``, 1 for features equal up to a
    rotation and isotropic scaling."""
    if x.shape[0] != y.shape[0] or x.dim() != 2 or y.dim() != 2:
        raise ValueError(
            f"need [N, D] features with equal N, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    x = x.double() - x.double().mean(0, keepdim=True)
    y = y.double() - y.double().mean(0, keepdim=True)
    cross = torch.linalg.matrix_norm(y.T @ x) ** 2
    norm = torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y)
    return float(cross / norm) if float(norm) > 0 else 0.0


def mean_cosine(x: Tensor, y: Tensor) -> float:
    """Mean cosine similarity of matching rows of ``[N, D]`` features."""
    if x.shape != y.shape:
        raise ValueError(f"cosine needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")
    return float(F.cosine_similarity(x.double(), y.double(), dim=-1).mean())


def fidelity(
    student: Upstream,
    teacher: Upstream,
    waves: Iterable[np.ndarray],
    *,
    metric: str = "cka",
    max_frames: int = 4096,
    frame_step: int = 4,
    batch_size: int = 8,
    ids: Sequence[str] | None = None,
) -> FidelityResult:
    """Compare ``student`` with ``teacher`` on ``waves`` (1-D 16 kHz arrays), named by
    ``ids`` (one per wave, unique; default ``"0"``, ``"1"``, ...) in the per-utterance
    ``items`` that :func:`gendistiller.evaluation.statistics.compare_fidelity` pairs.

    The similarity matrix uses every ``frame_step``-th valid frame (neighbouring frames
    are near-duplicates) up to ``max_frames`` frames, which bounds its cost.
    """
    if student.kind != STUDENT:
        raise ConfigError(
            f"fidelity: {student.name} is not a student (nothing predicts teacher layers)"
        )
    if metric not in METRICS:
        raise ConfigError(f"fidelity metric: choose one of {', '.join(METRICS)}, got {metric!r}")
    layers = student.target_layers
    if max(layers) >= teacher.num_hidden_states:
        raise ConfigError(
            f"fidelity: student {student.name} targets layer {max(layers)} but teacher {teacher.name} "
            f"has only layers 0..{teacher.num_hidden_states - 1}"
        )
    if student.hidden_size != teacher.hidden_size:
        raise ConfigError(
            f"fidelity: student {student.name} predicts {student.hidden_size}-d layers but teacher "
            f"{teacher.name} has {teacher.hidden_size}-d ones; they are not a distillation pair"
        )
    k = len(layers)
    l1_sum, cos_sum = np.zeros(k), np.zeros(k)
    frames = utterances = 0
    picked_s: list[list[Tensor]] = [[] for _ in range(student.num_hidden_states)]
    picked_t: list[list[Tensor]] = [[] for _ in range(teacher.num_hidden_states)]
    picked = 0
    utt_cosine: list[list[float]] = []
    utt_frames: list[int] = []
    for batch in _batches(waves, batch_size):
        lengths = torch.tensor([w.shape[0] for w in batch])
        padded = torch.nn.utils.rnn.pad_sequence(
            [torch.from_numpy(w) for w in batch], batch_first=True
        )
        s_out, t_out = student.extract(padded, lengths), teacher.extract(padded, lengths)
        if not torch.equal(s_out.lengths, t_out.lengths):
            raise ConfigError(
                f"fidelity: {student.name} and {teacher.name} give different frame counts"
            )
        assert s_out.predictions is not None
        t_len = min(s_out.hidden_states[0].shape[1], t_out.hidden_states[0].shape[1])
        positions = torch.arange(t_len)[None, :]
        valid = positions < s_out.lengths[:, None]
        counts = valid.sum(dim=1)
        per_utt = torch.zeros(len(batch), k, dtype=torch.float64)
        for i, layer in enumerate(layers):
            pred = s_out.predictions[i][:, :t_len]
            target = t_out.hidden_states[layer][:, :t_len]
            cos = F.cosine_similarity(pred, target, dim=-1).double() * valid  # [B, T]
            l1_sum[i] += float(((pred - target).abs().mean(dim=-1) * valid).sum())
            cos_sum[i] += float(cos.sum())
            per_utt[:, i] = cos.sum(dim=1) / counts.clamp(min=1)
        utt_cosine += [[round(float(c), 6) for c in row] for row in per_utt]
        utt_frames += counts.tolist()
        frames += int(valid.sum())
        utterances += len(batch)
        if picked < max_frames:
            take = valid & (positions % frame_step == 0)
            for dst, states in ((picked_s, s_out.hidden_states), (picked_t, t_out.hidden_states)):
                for lst, s in zip(dst, states, strict=True):
                    lst.append(s[:, :t_len][take][: max_frames - picked])
            picked += min(int(take.sum()), max_frames - picked)
    if frames == 0:
        raise ConfigError("fidelity: no audio to compare on")
    names = [str(i) for i in range(utterances)] if ids is None else [str(i) for i in ids]
    if len(names) != utterances or len(set(names)) != len(names):
        raise ConfigError(
            f"fidelity: {len(names)} ids for {utterances} utterances (one unique id per utterance)"
        )
    sim_fn = linear_cka if metric == "cka" else mean_cosine
    xs = [torch.cat(p) for p in picked_s]
    ys = [torch.cat(p) for p in picked_t]
    similarity = [[round(sim_fn(x, y), 4) for y in ys] for x in xs]
    return FidelityResult(
        student=student.name,
        teacher=teacher.name,
        target_layers=layers,
        l1=[round(float(v) / frames, 5) for v in l1_sum],
        cosine=[round(float(v) / frames, 5) for v in cos_sum],
        similarity=similarity,
        similarity_metric=metric,
        state_targets=state_layout(student)[0],
        utterances=utterances,
        frames=frames,
        similarity_frames=picked,
        items={"ids": names, "layers": list(layers), "frames": utt_frames, "cosine": utt_cosine},
    )


def state_layout(student: Upstream) -> tuple[list[int | None], list[str]]:
    """Each state's teacher layer (None: trained to equal none) and its label, as the
    student model says (``StudentModel.state_targets``, ``state_names``); for another
    encoder, none and ``x0, h1, h2, ...``."""
    if isinstance(student.model, StudentModel):
        return list(student.model.state_targets), list(student.model.state_names)
    n = student.num_hidden_states
    return [None] * n, default_state_names(n)


def _batches(waves: Iterable[np.ndarray], size: int) -> Iterable[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for w in waves:
        batch.append(np.asarray(w, dtype=np.float32))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
