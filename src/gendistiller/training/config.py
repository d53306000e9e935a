"""The distillation config: one config model per section, defaults = the baseline recipe.

Defaults follow DistilHuBERT's published setting (Adam with decoupled weight decay 0.01,
betas (0.9, 0.98), eps 1e-6, peak LR 2e-4, 7% warm-up then linear decay, clip 5.0,
random crops of 250,000 samples, batch 24). A recipe YAML sets only what differs;
``section.key=value`` overrides on the command line come last.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import field_validator, model_validator

from gendistiller.config import ConfigModel, Field, FieldError, NumberAsText, load_yaml, resolve
from gendistiller.data.config import DataConfig
from gendistiller.errors import ConfigError

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
RANDOM_TEACHER_TYPES = ("wavlm", "hubert", "wav2vec2", "data2vec-audio")
Unit = Annotated[float, Field(ge=0, lt=1)]


class RunConfig(ConfigModel):
    name: str = Field("distill", description="run name (used in the default run folder)")
    dir: str = Field(
        "runs/{name}", description="run folder: config, logs, checkpoints, exported student"
    )
    seed: int = Field(
        0, ge=0, description="seed of the student init, data order, crops and dropout"
    )
    resume: str = Field(
        "auto",
        description="auto: continue from the newest valid checkpoint in the run folder, if any;"
        " never: start fresh (refused if the run folder has checkpoints); or a checkpoint path",
    )


class TeacherConfig(ConfigModel):
    spec: str = Field(
        "microsoft/wavlm-base-plus",
        description="hub id, local save_pretrained folder, or"
        " random:<wavlm|hubert|wav2vec2|data2vec-audio>[-tiny]",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="config keys for random: teachers (e.g. num_hidden_layers: 4)",
    )
    seed: int = Field(0, ge=0, description="seed of a random: teacher's weights")
    mixed_precision: bool = Field(
        False,
        description="run the teacher under the trainer's mixed precision too (faster); false"
        " keeps it in fp32 as in the paper",
    )
    cache: str = Field(
        "",
        description="folder of a teacher cache built for this run's batches"
        " (gendistiller.training.teacher_cache_build.build_teacher_cache); empty: off."
        " A batch not in it runs the teacher as usual and is counted",
    )
    cache_float16: bool = Field(
        False,
        description="store the cached states as float16: half the disk, the losses move"
        " slightly; false stores the teacher's own dtype and training is exact",
    )

    @model_validator(mode="after")
    def _known_teacher(self) -> TeacherConfig:
        if self.spec.startswith("random:"):
            kind = self.spec.split(":", 1)[1].removesuffix("-tiny")
            if kind not in RANDOM_TEACHER_TYPES:
                raise FieldError(
                    "spec",
                    f"unknown random teacher type {kind!r} (one of {', '.join(RANDOM_TEACHER_TYPES)})",
                )
        elif self.overrides:
            raise FieldError("overrides", "only random: teachers take config overrides")
        elif not self.spec.strip():
            raise FieldError("spec", "required")
        return self


class StudentSection(ConfigModel):
    preset: str = Field(
        "gendistiller-base",
        description="gendistiller-base | distilhubert-base | gendistiller-fast | distilhubert-fast"
        " | gendistiller-tiny | distilhubert-tiny | gendistiller-fast-tiny | distilhubert-fast-tiny",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="student config keys on top of the preset (e.g. teacher_forcing_ratio: 0.5)",
    )
    init_from_teacher: bool = Field(
        True, description="start the front-end and first block(s) from the teacher's weights"
    )
    scale_to_teacher: bool = Field(
        False,
        description="resize the preset to the teacher (width, heads, FFN, conv encoder; targets"
        " at 1/3, 2/3, 3/3 of its depth), the rule that gives the *-base presets for a"
        " 12-layer 768-d teacher",
    )

    @model_validator(mode="after")
    def _buildable(self) -> StudentSection:
        try:
            self.build_config("")  # cheap: a config object, no weights
        except ConfigError as err:
            key, _, problem = str(err).partition(": ")
            raise FieldError(key, problem) from None
        return self

    def build_config(self, prefix: str = "student", teacher_config: Any = None):
        """The student config; with ``scale_to_teacher``, resized to ``teacher_config``
        (validated without it when the teacher is not known yet)."""
        from gendistiller.students.presets import get_preset, scaled_to_teacher

        try:
            if self.scale_to_teacher and teacher_config is not None:
                config = scaled_to_teacher(self.preset, teacher_config, **self.overrides)
            else:
                config = get_preset(self.preset, **self.overrides)
            config.validate_architecture()
        except ConfigError as err:
            key = "preset" if "preset" in str(err) else "overrides"
            raise ConfigError(f"{prefix + '.' if prefix else ''}{key}: {err}") from None
        return config


class LossConfig(ConfigModel):
    cos_weight: float = Field(1.0, ge=0, description="weight of the -log sigmoid(cosine) term")
    distance: Literal["l1", "l2"] = Field("l1", description="distance term per frame")
    depth_weight_exponent: float = Field(
        0.0, ge=0, description="layer l weighs l**exponent, mean 1 (0: equal, the paper's)"
    )


class FrontendStageConfig(ConfigModel):
    """A short stage before the main distillation that trains a light front-end (random at
    init) to reproduce the teacher's, the blocks staying as initialised; docs/training.md."""

    steps: int = Field(0, ge=0, description="optimiser steps of the stage (0: off, the paper's)")
    target: Literal["layer0", "cnn"] = Field(
        "layer0",
        description="layer0: hidden state 0 learns the teacher's layer 0; cnn: the front-end's"
        " features learn the teacher's CNN output",
    )
    trainable: Literal["features", "projection", "frontend"] = Field(
        "frontend",
        description="what it trains, the rest frozen: the feature extractor; + the projection;"
        " all of the front-end the target reaches (for cnn: the feature extractor)",
    )
    lr: float = Field(1e-2, gt=0, description="peak learning rate (AdamW, betas etc. of optim)")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="share of steps warming up")
    loss: LossConfig = Field(default_factory=LossConfig)

    @model_validator(mode="after")
    def _reachable(self) -> FrontendStageConfig:
        if self.target == "cnn" and self.trainable == "projection":
            raise FieldError(
                "trainable", "with target cnn only the feature extractor is in the loss's path"
            )
        return self


class OptimConfig(ConfigModel):
    lr: float = Field(2e-4, gt=0, description="peak learning rate (AdamW)")
    betas: tuple[Unit, Unit] = Field((0.9, 0.98), description="Adam betas (each in [0, 1))")
    eps: float = Field(1e-6, gt=0, description="Adam epsilon")
    weight_decay: float = Field(
        0.01, ge=0, description="decoupled weight decay (not on biases and norms)"
    )
    warmup_ratio: float = Field(
        0.07,
        ge=0,
        lt=1,
        description="share of max_steps with linear warm-up; then linear decay to 0",
    )


class TrainerConfig(ConfigModel):
    max_steps: int = Field(200_000, ge=1, description="optimiser steps")
    accelerator: str = Field("auto", description="auto | cpu | gpu | cuda | mps | tpu")
    devices: int | str = Field(
        "auto", description="devices per node: a count, a list like '0,1', or auto"
    )
    num_nodes: int = Field(1, ge=1, description="nodes for multi-node DDP")
    strategy: str = Field(
        "auto", description="Lightning strategy: auto | ddp | ddp_spawn | fsdp | ..."
    )
    precision: Annotated[Literal["32", "bf16-mixed", "16-mixed"], NumberAsText] = Field(
        "32", description="numeric precision"
    )
    accumulate_grad_batches: int = Field(1, ge=1, description="batches per optimiser step")
    gradient_clip_val: float = Field(
        5.0, ge=0, description="clip the gradient norm to this (0: off)"
    )
    log_every_n_steps: int = Field(50, ge=1, description="steps between logged metrics")
    max_nonfinite_steps: int = Field(
        5,
        ge=1,
        description="stop after this many NaN/inf losses in a row (each one skips its step)",
    )
    progress_bar: bool = Field(True, description="show the progress bar")
    cpu_threads: int = Field(
        0,
        ge=0,
        description="torch intra-op threads per process on CPU (0: torch's default, all cores)",
    )

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, strategy: str) -> str:
        from lightning.pytorch.strategies import StrategyRegistry

        if strategy != "auto" and strategy not in StrategyRegistry:
            raise ValueError(
                f"unknown strategy {strategy!r}"
                f" (e.g. {', '.join(sorted(StrategyRegistry)[:6])}, ...)"
            )
        return strategy

    @field_validator("devices")
    @classmethod
    def _device_count(cls, devices: int | str) -> int | str:
        if isinstance(devices, int) and devices < 1 and devices != -1:
            raise ValueError("must be >= 1, -1 (all) or auto")
        return devices


class CheckpointConfig(ConfigModel):
    every_n_steps: int = Field(
        5000, ge=1, description="save a checkpoint every this many steps (and at the end)"
    )
    keep_last: int = Field(3, ge=1, description="checkpoints kept in the run folder")


class DistillConfig(ConfigModel):
    run: RunConfig = Field(default_factory=RunConfig)
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentSection = Field(default_factory=StudentSection)
    data: DataConfig = Field(default_factory=DataConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    frontend_stage: FrontendStageConfig = Field(default_factory=FrontendStageConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)

    @property
    def run_dir(self) -> Path:
        try:
            return Path(self.run.dir.format(name=self.run.name)).expanduser()
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigError(f"run.dir: bad placeholder in {self.run.dir!r} ({err})") from None

    @model_validator(mode="after")
    def _run_dir_formats(self) -> DistillConfig:
        try:
            _ = self.run_dir
        except ConfigError as err:
            raise FieldError("run.dir", str(err).removeprefix("run.dir: ")) from None
        if self.frontend_stage.steps and self.student.init_from_teacher:
            if self.student.build_config("").frontend == "conv":
                raise FieldError(
                    "frontend_stage.steps",
                    f"student {self.student.preset!r} has the waveform CNN, initialised from the"
                    " teacher's: nothing for the stage to learn (set 0, or use a light front-end)",
                )
        return self


def recipe_names() -> list[str]:
    folder = resources.files("gendistiller") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def recipe_text(name: str) -> str:
    path = resources.files("gendistiller") / "recipes" / f"{name}.yaml"
    return path.read_text(encoding="utf-8")


def recipe_data(recipe: str) -> dict[str, Any]:
    """The mapping of a shipped recipe name or a YAML path."""
    if recipe in recipe_names():
        import yaml

        return yaml.safe_load(recipe_text(recipe)) or {}
    if Path(recipe).is_file():
        return load_yaml(recipe)
    raise ConfigError(
        f"--config: {recipe!r} is neither a shipped recipe ({', '.join(recipe_names())})"
        " nor a YAML file"
    )


def load_config(recipe: str | None, overrides: list[str] = ()) -> DistillConfig:
    """A validated config from a shipped recipe name or a YAML path, plus dotted overrides
    (for the command line; Python callers can also pass objects: ``cfg.merged({...})``)."""
    return resolve(DistillConfig, recipe_data(recipe) if recipe else {}, overrides)
