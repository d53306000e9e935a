"""What ``gendistiller reproduce`` trains: the students of the paper's comparison and its
ablations (:data:`VARIANTS`), at a scale (:data:`SCALES`), each with several seeds.

Every variant is one preset plus a few student settings; everything else (teacher, data,
steps, optimiser, seeds) is the same for all, so differences come from the variant alone.
Both presets are scaled to the teacher by one rule (``student.scale_to_teacher``: the
teacher's width, heads, FFN and conv encoder; targets at 1/3, 2/3, 3/3 of its depth),
which keeps the paper's proportions (GenDistiller ~0.6x the baseline with its heads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gendistiller.errors import ConfigError
from gendistiller.training.config import DistillConfig, recipe_text
from gendistiller.training.schema import apply_overrides, from_dict

BASELINE = "distilhubert"
DEFAULT = "gendistiller"


@dataclass(frozen=True)
class Variant:
    name: str
    preset: str
    description: str
    student: dict[str, Any] = field(default_factory=dict)  # student config overrides
    init_from_teacher: bool = True


_GEN = "gendistiller-base"
_TF = {"teacher_forcing_ratio": 0.5}  # the GenDistiller recipes' setting (method.md §5)

VARIANTS: tuple[Variant, ...] = (
    Variant(BASELINE, "distilhubert-base", "DistilHuBERT baseline: 2 layers + parallel heads"),
    Variant(DEFAULT, _GEN, "GenDistiller v2: previous layer as history", _TF),
    Variant("gendistiller-v1", _GEN, "v1: all earlier layers as history", {**_TF, "history": "all"}),
    Variant("no-skip", _GEN, "GenDistiller without the skip connection", {**_TF, "skip_connection": False}),
    Variant("no-outproj", _GEN, "GenDistiller without the output projection", {**_TF, "output_projection": False}),
    Variant("teacher-forced", _GEN, "trained with teacher forcing only (ratio 1)", {"teacher_forcing_ratio": 1.0}),
    Variant("free-running", _GEN, "trained free running only (ratio 0)", {"teacher_forcing_ratio": 0.0}),
    Variant("per-step-weights", _GEN, "one block per generation step instead of one shared", {**_TF, "shared_weights": False}),
    Variant("gendistiller-random-init", _GEN, "GenDistiller from random weights", _TF, init_from_teacher=False),
    Variant("distilhubert-random-init", "distilhubert-base", "DistilHuBERT from random weights", init_from_teacher=False),
)  # fmt: skip
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


@dataclass(frozen=True)
class Scale:
    """Sizes of one reproduction: distillation, evaluation and the number of seeds."""

    name: str
    corpus_size: str
    steps: int
    batch_size: int
    crop_samples: int  # distillation crops (samples at 16 kHz)
    seeds: tuple[int, ...]
    tasks: tuple[str, ...]
    probe_recipe: dict[str, Any]  # overrides of every probe recipe
    probe_examples: tuple[int, int, int]  # at most this many train/dev/test examples per task
    fidelity_utterances: int
    timing_repeats: int


SCALES: dict[str, Scale] = {
    # For the test suite: every variant and every code path, minimal sizes.
    "smoke": Scale(
        name="smoke",
        corpus_size="tiny",
        steps=2,
        batch_size=2,
        crop_samples=16000,
        seeds=(0, 1),
        tasks=("pr", "ks"),
        probe_recipe={"steps": 4, "eval_every": 2},
        probe_examples=(40, 10, 10),
        fidelity_utterances=4,
        timing_repeats=1,
    ),
    # The published run (docs/results/): under an hour on 2 CPU cores (2 workers).
    "cpu": Scale(
        name="cpu",
        corpus_size="default",
        steps=150,
        batch_size=8,
        crop_samples=24000,
        seeds=(0, 1, 2),
        tasks=("pr", "sid", "ks"),
        probe_recipe={"steps": 300},
        probe_examples=(160, 40, 100),
        fidelity_utterances=40,
        timing_repeats=3,
    ),
}


@dataclass(frozen=True)
class Job:
    variant: Variant
    seed: int

    @property
    def name(self) -> str:
        return f"{self.variant.name}/seed{self.seed}"


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ConfigError(f"--scale: unknown {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def select_variants(names: list[str] | None) -> tuple[Variant, ...]:
    if not names:
        return VARIANTS
    unknown = [n for n in names if n not in VARIANT_NAMES]
    if unknown:
        raise ConfigError(
            f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANT_NAMES)}"
        )
    return tuple(v for v in VARIANTS if v.name in names)


def jobs(scale: Scale, variants: tuple[Variant, ...]) -> list[Job]:
    """Seed-major order: a partial run already has every variant at the first seed."""
    return [Job(v, s) for s in scale.seeds for v in variants]


def distill_config(
    job: Job, scale: Scale, *, teacher: str, manifest: Path, corpus_root: Path, run_dir: Path
) -> DistillConfig:
    """The demo recipe (sized for CPU) with this job's student, seed and scale."""
    data = yaml.safe_load(recipe_text("demo"))
    data["student"] = {
        "preset": job.variant.preset,
        "scale_to_teacher": True,
        "init_from_teacher": job.variant.init_from_teacher,
        "overrides": dict(job.variant.student),
    }
    overrides = [
        f"run.name={job.variant.name}-seed{job.seed}",
        f"run.dir={run_dir}",
        f"run.seed={job.seed}",
        f"teacher.spec={teacher}",
        f"data.manifest={manifest}",
        f"data.root={corpus_root}",
        f"data.batch_size={scale.batch_size}",
        f"data.max_samples={scale.crop_samples}",
        f"data.min_samples={min(16000, scale.crop_samples)}",
        f"trainer.max_steps={scale.steps}",
        "trainer.progress_bar=false",
        "trainer.log_every_n_steps=" + str(max(1, min(10, scale.steps))),
        f"checkpoint.every_n_steps={max(1, scale.steps // 2)}",
    ]
    return from_dict(DistillConfig, apply_overrides(data, overrides))
