"""Controls: models whose answer is known, to check that the evaluation can tell.

- The teacher against itself probed with another probe seed must **tie**: a significant
  difference there is the probes' own noise, and the standard error of that difference
  gives the minimum detectable effect (MDE) of the task.
- The teacher against :class:`DegradedEncoder` copies of itself (its hidden states plus
  Gaussian noise, at cosine 0.98 and 0.95 to the originals; the noise independent per
  frame, or sharing one direction across an utterance's frames) must **lose**,
  significantly, and more for the lower cosine.

:func:`run_controls` probes all of them on the same data and says, per task, which
expectation held (docs/evaluation.md, "Controls").
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from gendistiller.encoders.base import Encoder, EncoderOutput
from gendistiller.errors import ConfigError
from gendistiller.evaluation.probes import TASKS, Recipe, TaskData, run_probes, task_store
from gendistiller.evaluation.statistics import compare
from gendistiller.evaluation.superb import TEACHER, Upstream

#: The re-probed teacher's probe seed is the run's probe seed plus this.
REPROBE_OFFSET = 100
COSINES = (0.98, 0.95)
#: Kinds of noise of a degraded copy: independent per frame (averaged away by a probe that
#: mean-pools frames), or one direction per utterance, shared by its frames (survives it).
FRAME, UTTERANCE = "frame", "utterance"
NOISE_KINDS = (FRAME, UTTERANCE)
#: The copy's name tag per kind: ``teacher~cos0.98``, ``teacher~utt0.98``.
_TAGS = {FRAME: "cos", UTTERANCE: "utt"}


class DegradedEncoder(nn.Module):
    """``base``'s hidden states (and predictions, if any) with Gaussian noise added so that
    each frame's cosine to the original is ``cosine`` in expectation.

    For a frame ``x`` of ``D`` dims the noise is ``s z`` with ``z ~ N(0, I)`` and
    ``s = |x| sqrt(1 / cosine^2 - 1) / sqrt(D)``: then ``|s z| ~ |x| tan(acos(cosine))``
    and, ``z`` being nearly orthogonal to ``x``, ``cos(x, x + s z) ~ cosine``. ``noise``
    says how ``z`` is drawn: ``"frame"``, a new ``z`` per frame (independent noise, which
    a mean over frames shrinks by the square root of their number), or ``"utterance"``,
    one ``z`` per utterance and per hidden state, shared by all its frames (scaled per
    frame by ``s``), which a mean over frames keeps. The noise of an utterance is drawn
    from a generator seeded by a digest of its valid waveform samples and ``seed``, so it
    is the same alone or in any batch, padded or not; frames past an utterance's end stay
    zero.
    """

    def __init__(self, base: Encoder, cosine: float, seed: int = 0, noise: str = FRAME):
        super().__init__()
        if not 0.0 < cosine <= 1.0:
            raise ConfigError(f"degraded encoder: cosine must be in (0, 1], got {cosine}")
        check_noise(noise)
        self.base = base
        self.cosine = float(cosine)
        self.seed = int(seed)
        self.noise = noise
        self.name = degraded_name(base.name, noise, cosine)
        self.kind = getattr(base, "kind", TEACHER)
        # Part of the state, so that Upstream.fingerprint, and with it the feature cache,
        # tells this copy from its base and from copies of other cosines, seeds or kinds
        # (the frame kind's buffer is as it was before kinds existed: its caches stay valid).
        tag = [self.cosine, float(self.seed)] + ([1.0] if noise == UTTERANCE else [])
        self.register_buffer("degradation", torch.tensor(tag, dtype=torch.float64))

    @property
    def config(self):
        return self.base.config

    @property
    def geometry(self):
        return self.base.geometry

    @property
    def hidden_size(self) -> int:
        return self.base.hidden_size

    @property
    def num_hidden_states(self) -> int:
        return self.base.num_hidden_states

    def parameter_count(self, training: bool = False) -> int:
        return self.base.parameter_count(training)

    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> EncoderOutput:
        out = self.base(waveforms, lengths)
        if lengths is None:
            lengths = torch.full((waveforms.shape[0],), waveforms.shape[1], dtype=torch.long)
        states = [s.clone() for s in out.hidden_states]
        preds = None if out.predictions is None else [p.clone() for p in out.predictions]
        tensors = states + (preds or [])
        scale = math.sqrt(1.0 / self.cosine**2 - 1.0) / math.sqrt(self.hidden_size)
        for b in range(waveforms.shape[0]):
            n = int(out.lengths[b])
            gen = torch.Generator().manual_seed(
                _item_seed(waveforms[b, : int(lengths[b])], self.seed)
            )
            # Frame kind: (tensors, frames, D) as ever; utterance kind: (tensors, 1, D).
            frames = n if self.noise == FRAME else 1
            noise = torch.randn(len(tensors), frames, self.hidden_size, generator=gen)
            for t, z in zip(tensors, noise, strict=True):
                x = t[b, :n]
                t[b, :n] = x + z.to(x) * x.norm(dim=-1, keepdim=True) * scale
        return EncoderOutput(states, out.lengths, preds).zero_padding()


def check_noise(noise: str) -> str:
    """``noise`` if it is a kind of noise :class:`DegradedEncoder` knows; else ConfigError."""
    if noise not in NOISE_KINDS:
        raise ConfigError(
            f"degraded encoder: noise must be one of {', '.join(NOISE_KINDS)}, got {noise!r}"
        )
    return noise


def degraded_name(base: str, noise: str, cosine: float) -> str:
    """What reports call a copy of ``base`` degraded with ``noise`` to ``cosine``."""
    return f"{base}~{_TAGS[noise]}{cosine:g}"


def _item_seed(wave: Tensor, seed: int) -> int:
    digest = hashlib.sha256(wave.detach().cpu().float().contiguous().numpy().tobytes())
    digest.update(str(seed).encode())
    return int.from_bytes(digest.digest()[:8], "little") & ((1 << 63) - 1)


def run_controls(
    teacher: Upstream | Encoder,
    data: Mapping[str, TaskData],
    *,
    recipes: Mapping[str, Recipe] | None,
    probe_seed: int,
    cosines: Sequence[float] = COSINES,
    kinds: Sequence[str] = (FRAME,),
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    teacher_results: Mapping[str, Mapping] | None = None,
) -> dict:
    """Probe ``teacher`` with ``probe_seed`` and ``probe_seed + REPROBE_OFFSET``, and a
    :class:`DegradedEncoder` copy per noise kind in ``kinds`` and per ``cosines`` with
    ``probe_seed``; per task, every control's score, its paired difference (teacher minus
    control), the expectation (``tie`` for the re-probed teacher, ``better`` for the
    teacher against a degraded copy), whether it held, whether the loss grows as the
    cosine falls within each kind, and the task's MDE from the teacher-vs-re-probed-teacher
    standard error.

    ``teacher_results``: the teacher's probe results with ``probe_seed`` on the same data
    and recipes (``{task: ProbeResult.as_dict()}``), when the caller has them already."""
    kinds = [check_noise(k) for k in dict.fromkeys(kinds)]  # before any probe is trained
    up = teacher if isinstance(teacher, Upstream) else Upstream(teacher)
    store = task_store(up, data, cache_dir, progress=progress)

    def probe(upstream: Upstream, seed: int, **kw) -> dict:
        found = run_probes(upstream, data, recipes=recipes, seed=seed, progress=progress, **kw)
        return {t: r.as_dict() for t, r in found.items()}

    reprobe = f"{up.name} (probe seed {probe_seed + REPROBE_OFFSET})"
    if teacher_results is not None and set(data) - set(teacher_results):
        raise ValueError(
            f"controls: no teacher results for {sorted(set(data) - set(teacher_results))}"
        )
    reference = (
        {t: _as_dict(teacher_results[t]) for t in data}
        if teacher_results is not None
        else probe(up, probe_seed, store=store)
    )
    controls = {reprobe: (None, None, probe(up, probe_seed + REPROBE_OFFSET, store=store))}
    for kind in kinds:
        for c in sorted(cosines, reverse=True):
            copy = Upstream(DegradedEncoder(up.model, c, noise=kind),
                            name=degraded_name(up.name, kind, c))  # fmt: skip
            controls[copy.name] = (kind, c, probe(copy, probe_seed, cache_dir=cache_dir))
    tasks = {t: _task_controls(t, reference[t], controls) for t in data}
    return {
        "teacher": up.name,
        "probe_seed": probe_seed,
        "reprobe_seed": probe_seed + REPROBE_OFFSET,
        "cosines": sorted(cosines, reverse=True),
        "kinds": kinds,
        "tasks": tasks,
        "passed": all(t["passed"] for t in tasks.values()),
    }


def _as_dict(result) -> Mapping:
    return result if isinstance(result, Mapping) else result.as_dict()


def _task_controls(task: str, reference: Mapping, controls: Mapping[str, tuple]) -> dict:
    lower = TASKS[task].lower_is_better
    rows, losses = {}, {}
    for name, (kind, cosine, results) in controls.items():
        d = compare([reference], [results[task]], lower_is_better=lower)
        expected = "tie" if cosine is None else "better"
        rows[name] = {
            "kind": kind,
            "cosine": cosine,
            "score": results[task]["test"],
            "difference": d.to_dict(),
            "expected": expected,
            "verdict": d.verdict(),
            "passed": d.verdict() == expected,
        }
        if cosine is not None:  # how much the teacher is better: positive when it wins
            losses.setdefault(kind, []).append(-d.diff if lower else d.diff)
    floor = next(r for r in rows.values() if r["cosine"] is None)["difference"]
    # Within each kind (cosines falling): the two kinds' losses are not comparable.
    ordered = all(a < b for kl in losses.values() for a, b in zip(kl, kl[1:], strict=False))
    return {
        "metric": reference["metric"],
        "lower_is_better": lower,
        "teacher": reference["test"],
        "controls": rows,
        "ordered": ordered,
        "mde": floor["mde"],
        "mde_from": "2.80 x the standard error of teacher vs teacher re-probed (95% level, 80% power)",
        "passed": ordered and all(r["passed"] for r in rows.values()),
    }


def control_set(controls: Mapping) -> set[tuple[str, float]]:
    """The (noise kind, cosine) of every degraded copy in a :func:`run_controls` result
    (one written before kinds existed has frame noise only)."""
    return {
        (row.get("kind") or FRAME, row["cosine"])
        for task in controls["tasks"].values()
        for row in task["controls"].values()
        if row["cosine"] is not None
    }
