"""What ``gendistiller reproduce`` trains: the students of the paper's comparison and its
ablations (:data:`VARIANTS`), at a scale (:data:`SCALES`), each with several seeds.

Every variant is one preset plus a few student (and, for a loss switch, loss) settings;
everything else (teacher, data, optimiser) is the same for all, so differences come from
the variant alone. A variant's
``budget`` sets its steps and seeds: ``full`` (the headline pair, GenDistiller and the
DistilHuBERT baseline) trains ``Scale.steps`` with every seed, ``short`` (the ablations)
``Scale.ablation_steps`` with ``Scale.ablation_seeds``, and ``brief`` (the task check's
briefly distilled student) ``Scale.brief_steps`` with the first seed. Every student of one seed sees the same
sequence of crops (a shorter run sees its beginning), which the teacher cache relies on.
Both presets are scaled to the teacher by one rule (``student.scale_to_teacher``: the
teacher's width, heads, FFN and conv encoder; targets at 1/3, 2/3, 3/3 of its depth),
which keeps the paper's proportions (GenDistiller ~0.6x the baseline with its heads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict

from gendistiller.config import CommaList, ConfigModel, Field
from gendistiller.errors import ConfigError
from gendistiller.evaluation.controls import NOISE_KINDS
from gendistiller.teachers import EMBEDDED
from gendistiller.training.config import DistillConfig, RunConfig, StudentSection, load_config

BASELINE = "distilhubert"
DEFAULT = "gendistiller"


FULL, SHORT, BRIEF_BUDGET = "full", "short", "brief"
BRIEF = "gendistiller-brief"
FAST = "gendistiller-fast"
FAST_STAGED = "gendistiller-fast-staged"
# the headline pair again at the ablations' budget: what each ablation is compared with
SHORT_DEFAULT, SHORT_BASELINE = "gendistiller-short", "distilhubert-short"
# beyond the paper: the ideas that helped, combined, at the headline budget
PLUS = "gendistiller-plus"


class Variant(ConfigModel):
    model_config = ConfigDict(frozen=True)

    name: str
    preset: str
    description: str
    student: dict[str, Any] = Field(default_factory=dict, description="student config overrides")
    loss: dict[str, Any] = Field(default_factory=dict, description="loss config overrides")
    frontend_stage: dict[str, Any] = Field(
        default_factory=dict, description="frontend_stage config overrides (off by default)"
    )
    init_from_teacher: bool = True
    budget: Literal["full", "short", "brief"] = SHORT

    def section(self) -> StudentSection:
        """This variant's ``student`` section, scaled to the teacher."""
        return StudentSection(preset=self.preset, overrides=dict(self.student),
                              init_from_teacher=self.init_from_teacher, scale_to_teacher=True)  # fmt: skip


_GEN = "gendistiller-base"
_TF = {"teacher_forcing_ratio": 0.5}  # the GenDistiller recipes' setting (method.md §5)
_SCHEDULED = {"teacher_forcing_schedule": "linear", "teacher_forcing_final_ratio": 0.0}
# rank D/8 at the embedded teacher's D = 256: +2.9% parameters (64 would be +5.8%)
_ADAPTERS = {"output_adapter_rank": 32}

VARIANTS: tuple[Variant, ...] = (
    Variant(name=BASELINE, preset="distilhubert-base", description="DistilHuBERT baseline: 2 layers + parallel heads", budget=FULL),
    Variant(name=DEFAULT, preset=_GEN, description="GenDistiller v2: previous layer as history", student=_TF, budget=FULL),
    Variant(name=SHORT_DEFAULT, preset=_GEN, description="GenDistiller at the ablations' budget: what its ablations are compared with", student=_TF),
    Variant(name=SHORT_BASELINE, preset="distilhubert-base", description="the baseline at the ablations' budget: what its ablation is compared with"),
    Variant(name="gendistiller-v1", preset=_GEN, description="v1: all earlier layers as history", student={**_TF, "history": "all"}),
    Variant(name="no-skip", preset=_GEN, description="GenDistiller without the skip connection", student={**_TF, "skip_connection": False}),
    Variant(name="no-outproj", preset=_GEN, description="GenDistiller without the output projection", student={**_TF, "output_projection": False}),
    Variant(name="teacher-forced", preset=_GEN, description="trained with teacher forcing only (ratio 1)", student={"teacher_forcing_ratio": 1.0}),
    Variant(name="free-running", preset=_GEN, description="trained free running only (ratio 0)", student={"teacher_forcing_ratio": 0.0}),
    Variant(name="per-step-weights", preset=_GEN, description="one block per generation step instead of one shared", student={**_TF, "shared_weights": False}),
    Variant(name="gendistiller-random-init", preset=_GEN, description="GenDistiller from random weights", student=_TF, init_from_teacher=False),
    Variant(name="distilhubert-random-init", preset="distilhubert-base", description="DistilHuBERT from random weights", init_from_teacher=False),
    Variant(name=FAST, preset="gendistiller-fast", description="GenDistiller on the light log-mel front-end (docs/method.md, fast students)", student=_TF, budget=FULL),
    Variant(name="distilhubert-fast", preset="distilhubert-fast", description="DistilHuBERT on the same light front-end", budget=FULL),
    Variant(name=FAST_STAGED, preset="gendistiller-fast", description="the fast GenDistiller after a front-end stage (300 steps: its front-end learns the teacher's layer 0)", student=_TF, frontend_stage={"steps": 300}, budget=FULL),
    # beyond the paper (docs/method.md): each switch alone on the default, against it
    Variant(name="step-conditioned", preset=_GEN, description="a learned step embedding tells the shared block which layer it generates", student={**_TF, "step_embedding": True}),
    Variant(name="per-step-outproj", preset=_GEN, description="one output projection per step, the block shared", student={**_TF, "per_step_output_projection": True}),
    Variant(name="scheduled-sampling", preset=_GEN, description="teacher forcing decays linearly from 0.5 to 0 over the run", student={**_TF, **_SCHEDULED}),
    Variant(name="depth-weighted", preset=_GEN, description="later target layers weigh more in the loss (proportional to depth)", student=_TF, loss={"depth_weight_exponent": 1.0}),
    Variant(name="noisy-teacher-forcing", preset=_GEN, description="noise (0.3 x RMS) on the teacher-forced history", student={**_TF, "teacher_forcing_noise": 0.3}),
    Variant(name="output-adapters", preset=_GEN, description="a low-rank (32) correction per step to the shared output projection", student={**_TF, **_ADAPTERS}),
    # the ideas that helped, combined, trained like the headline pair and judged against it
    Variant(name=PLUS, preset=_GEN, description="GenDistiller+: scheduled sampling (0.5 to 0) and output adapters (rank 32)", student={**_TF, **_SCHEDULED, **_ADAPTERS}, budget=FULL),
    Variant(name=BRIEF, preset=_GEN, description="GenDistiller distilled briefly: what a task gives a student near its initialisation", student=_TF, budget=BRIEF_BUDGET),
)  # fmt: skip
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


class Scale(ConfigModel):
    """Sizes of one reproduction: distillation, evaluation and the number of seeds."""

    model_config = ConfigDict(frozen=True)

    name: str
    corpus_size: str
    steps: int  # the headline pair's distillation steps
    ablation_steps: int
    brief_steps: int  # the task check's briefly distilled student
    batch_size: int
    crop_samples: int  # distillation crops (samples at 16 kHz)
    seeds: tuple[int, ...]  # the headline pair's distillation seeds
    ablation_seeds: tuple[int, ...]
    tasks: tuple[str, ...]
    # the ablations' probes (fidelity always): a subset keeps the run's cost in bounds
    ablation_tasks: tuple[str, ...]
    probe_recipe: dict[str, Any]  # overrides of every probe recipe
    probe_examples: tuple[int, int, int]  # at most this many train/dev/test examples per task
    probe_seed: int  # one probe seed for every model, so probe noise cannot rank them
    fidelity_utterances: int
    timing_repeats: int
    controls: tuple[float, ...]  # cosines of the teacher's degraded copies
    # their kinds of noise, each at every cosine (evaluation/controls.py)
    control_noise: tuple[Literal[NOISE_KINDS], ...]  # type: ignore[valid-type]
    teacher_cache: bool  # the teacher's states computed once per seed, shared by its students

    def control_copies(self) -> set[tuple[str, float]]:
        """The (noise kind, cosine) of every degraded copy of the teacher."""
        return {(k, c) for k in self.control_noise for c in self.controls}

    def steps_of(self, variant: Variant) -> int:
        return {FULL: self.steps, SHORT: self.ablation_steps, BRIEF_BUDGET: self.brief_steps}[
            variant.budget
        ]

    def tasks_of(self, variant: Variant) -> tuple[str, ...]:
        return self.ablation_tasks if variant.budget == SHORT else self.tasks

    def seeds_of(self, variant: Variant) -> tuple[int, ...]:
        return {FULL: self.seeds, SHORT: self.ablation_seeds, BRIEF_BUDGET: self.seeds[:1]}[
            variant.budget
        ]


SCALES: dict[str, Scale] = {
    # For the test suite: every variant and every code path, minimal sizes.
    "smoke": Scale(
        name="smoke",
        corpus_size="tiny",
        steps=3,
        ablation_steps=2,
        brief_steps=1,
        batch_size=2,
        crop_samples=16000,
        seeds=(0, 1),
        ablation_seeds=(0,),
        tasks=("pr", "ks"),
        ablation_tasks=("pr",),
        probe_recipe={"steps": 4, "eval_every": 2},
        probe_examples=(40, 10, 10),
        probe_seed=0,
        fidelity_utterances=4,
        timing_repeats=1,
        controls=(0.95,),
        control_noise=("utterance",),
        teacher_cache=True,
    ),
    # The published run (docs/results/): at most two hours on 2 CPU cores (2 workers).
    "cpu": Scale(
        name="cpu",
        corpus_size="eval",
        steps=800,
        ablation_steps=200,
        brief_steps=40,
        batch_size=8,
        crop_samples=24000,
        seeds=(0, 1, 2),
        ablation_seeds=(0,),
        tasks=("pr", "sid", "ks", "ic"),
        ablation_tasks=(),  # a student's probe features cost as much as its distillation
        probe_recipe={},
        probe_examples=(2000, 500, 100_000),
        probe_seed=0,
        fidelity_utterances=200,
        timing_repeats=3,
        controls=(0.98, 0.95),
        # frame noise as published first (its copies' feature caches reused); utterance
        # noise because the pooled probes (SID, KS) average frame noise away
        control_noise=("frame", "utterance"),
        teacher_cache=True,
    ),
}


@dataclass(frozen=True)
class Job:
    variant: Variant
    seed: int

    @property
    def name(self) -> str:
        return f"{self.variant.name}/seed{self.seed}"

    @property
    def slug(self) -> str:
        return f"{self.variant.name}-seed{self.seed}"


def _known_variants(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in VARIANT_NAMES]
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(VARIANT_NAMES)}")
    return names


class ReproduceConfig(ConfigModel):
    """Options of ``gendistiller reproduce`` (its flags are generated from these fields)."""

    scale: Literal[tuple(SCALES)] = Field(  # type: ignore[valid-type]
        "cpu",
        description="smoke: seconds, for tests; cpu: the published run (under two hours on 2 cores)",
    )
    out: str = Field(
        "", description="work folder (default: runs/reproduce-SCALE); a rerun resumes it"
    )
    results: str = Field(
        "", description="folder for results.md/json and plots (default: OUT/results)"
    )
    variants: Annotated[list[str], CommaList, AfterValidator(_known_variants)] = Field(
        default_factory=list,
        description=f"comma-separated subset of: {', '.join(VARIANT_NAMES)} (default: all)",
    )
    teacher: str = Field(EMBEDDED, description="teacher spec (embedded: the shipped teacher)")
    workers: int = Field(2, ge=1, description="students trained and evaluated in parallel")
    threads: int = Field(1, ge=1, description="torch threads per worker (and for timing)")
    progress: bool = Field(
        True, description="show progress output", json_schema_extra={"flag": "--quiet"}
    )

    @property
    def out_dir(self) -> Path:
        return Path(self.out or f"runs/reproduce-{self.scale}")


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ConfigError(f"--scale: unknown {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def select_variants(names: list[str] | None) -> tuple[Variant, ...]:
    if not names:
        return VARIANTS
    try:
        _known_variants(names)
    except ValueError as err:
        raise ConfigError(f"--variants: {err}") from None
    return tuple(v for v in VARIANTS if v.name in names)


def jobs(scale: Scale, variants: tuple[Variant, ...]) -> list[Job]:
    """Seed-major order: a partial run already has every variant at the first seed; within a
    seed the longest runs first, so two workers finish together."""
    seeds = sorted({s for v in variants for s in scale.seeds_of(v)}, key=scale.seeds.index)
    return [
        Job(v, s)
        for s in seeds
        for v in sorted(variants, key=lambda v: -scale.steps_of(v))
        if s in scale.seeds_of(v)
    ]


def distill_config(
    job: Job,
    scale: Scale,
    *,
    teacher: str,
    manifest: Path,
    corpus_root: Path,
    run_dir: Path,
    teacher_cache: Path | str = "",
) -> DistillConfig:
    """The demo recipe (sized for CPU) with this job's student, seed and scale."""
    steps = scale.steps_of(job.variant)
    return load_config("demo").merged(
        run=RunConfig(name=job.slug, dir=run_dir, seed=job.seed),
        teacher={"spec": teacher, "cache": str(teacher_cache)},
        student=job.variant.section(),
        loss=dict(job.variant.loss),
        frontend_stage=dict(job.variant.frontend_stage),
        data={
            "manifest": manifest,
            "root": corpus_root,
            "batch_size": scale.batch_size,
            "max_samples": scale.crop_samples,
            "min_samples": min(16000, scale.crop_samples),
        },
        trainer={
            "max_steps": steps,
            "progress_bar": False,
            "log_every_n_steps": max(1, min(10, steps)),
        },
        checkpoint={"every_n_steps": max(1, steps // 4)},
    )
