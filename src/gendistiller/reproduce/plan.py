"""How ``gendistiller reproduce`` trains its students (:mod:`~gendistiller.reproduce.variants`):
at a scale (:data:`SCALES`), each with several seeds, as jobs, each with its distillation
config. Every student of one seed sees the same sequence of crops (a shorter run sees its
beginning), which the teacher cache relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, model_validator

from gendistiller.config import CommaList, ConfigModel, Field
from gendistiller.errors import ConfigError
from gendistiller.evaluation.controls import NOISE_KINDS
from gendistiller.reproduce.variants import (
    BRIEF_BUDGET,
    FULL,
    GROUPS,
    SHORT,
    VARIANT_NAMES,
    VARIANTS,
    Variant,
)
from gendistiller.teachers import EMBEDDED
from gendistiller.training.config import DistillConfig, RunConfig, load_config


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
    # then per task ({task: overrides}): e.g. more heads averaged where the probe is noisy
    task_recipes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    probe_examples: tuple[int, int, int]  # at most this many train/dev/test examples per task
    probe_seed: int  # one probe seed for every model, so probe noise cannot rank them
    fidelity_utterances: int
    timing_repeats: int
    controls: tuple[float, ...]  # cosines of the teacher's degraded copies
    # their kinds of noise, each at every cosine (evaluation/controls.py)
    control_noise: tuple[Literal[NOISE_KINDS], ...]  # type: ignore[valid-type]
    teacher_cache: bool  # the teacher's states computed once per seed, shared by its students

    @model_validator(mode="after")
    def _recipes_name_tasks(self) -> Scale:
        unknown = sorted(set(self.task_recipes) - set(self.tasks))
        if unknown:
            raise ValueError(f"task_recipes: {unknown[0]!r} is not one of the tasks")
        return self

    def recipe_overrides(self, task: str) -> dict[str, Any]:
        """The overrides of ``task``'s default probe recipe at this scale."""
        return {**self.probe_recipe, **self.task_recipes.get(task, {})}

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
        task_recipes={"ks": {"seeds": 2}},
        probe_examples=(40, 10, 10),
        probe_seed=0,
        fidelity_utterances=4,
        timing_repeats=1,
        controls=(0.95,),
        control_noise=("utterance",),
        teacher_cache=True,
    ),
    # The published run (docs/results/): its `paper` group 84 min from scratch on 2 CPU
    # cores (2 workers), every group about 175 (docs/reproduce.md).
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
        # heads averaged where one head's own noise floor is too high (docs/evaluation.md,
        # "Noise floor"): SID's MDE 3.5 -> 1.9 with three, PR's re-probe ties with two
        task_recipes={"pr": {"seeds": 2}, "sid": {"seeds": 3}},
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
    unknown = [n for n in names if n not in VARIANT_NAMES and n not in GROUPS]
    if unknown:
        raise ValueError(
            f"unknown {', '.join(unknown)}; choose from the groups {', '.join(GROUPS)}"
            f" or the variants {', '.join(VARIANT_NAMES)}"
        )
    return names


class ReproduceConfig(ConfigModel):
    """Options of ``gendistiller reproduce`` (its flags are generated from these fields)."""

    scale: Literal[tuple(SCALES)] = Field(  # type: ignore[valid-type]
        "cpu",
        description="smoke: seconds, for tests; cpu: the published run (its paper group 84 min on 2 cores)",
    )
    out: str = Field(
        "", description="work folder (default: runs/reproduce-SCALE); a rerun resumes it"
    )
    results: str = Field(
        "", description="folder for results.md/json and plots (default: OUT/results)"
    )
    variants: Annotated[list[str], CommaList, AfterValidator(_known_variants)] = Field(
        default_factory=list,
        description=f"comma-separated groups ({', '.join(GROUPS)}) or variants ({', '.join(VARIANT_NAMES)}); default: all",
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
    chosen = {n for name in names for n in GROUPS.get(name, (name,))}
    return tuple(v for v in VARIANTS if v.name in chosen)


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
        frontend_stage=_stage(job.variant.frontend_stage, steps),
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


def _stage(overrides: dict, steps: int) -> dict:
    """A variant's front-end stage, never longer than its main distillation (so the smoke
    scale's few steps keep it short; the cpu scale's 300 of 800 stay as they are)."""
    if "steps" not in overrides:
        return dict(overrides)
    return {**overrides, "steps": min(int(overrides["steps"]), steps)}
