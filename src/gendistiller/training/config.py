"""The distillation config: one typed dataclass per section, defaults = the baseline recipe.

Defaults follow DistilHuBERT's published setting (Adam with decoupled weight decay 0.01,
betas (0.9, 0.98), eps 1e-6, peak LR 2e-4, 7% warm-up then linear decay, clip 5.0,
random crops of 250,000 samples, batch 24). A recipe YAML sets only what differs;
``section.key=value`` overrides on the command line come last.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gendistiller.data.config import DataConfig
from gendistiller.errors import ConfigError
from gendistiller.training.schema import apply_overrides, from_dict, load_yaml, option, to_dict

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
RANDOM_TEACHER_TYPES = ("wavlm", "hubert", "wav2vec2", "data2vec-audio")


@dataclass
class RunConfig:
    name: str = option("distill", "run name (used in the default run folder)")
    dir: str = option("runs/{name}", "run folder: config, logs, checkpoints, exported student")
    seed: int = option(0, "seed of the student init, data order, crops and dropout", ge=0)
    resume: str = option(
        "auto",
        "auto: continue from the newest valid checkpoint in the run folder, if any;"
        " never: start fresh (refused if the run folder has checkpoints); or a checkpoint path",
    )


@dataclass
class TeacherConfig:
    spec: str = option(
        "microsoft/wavlm-base-plus",
        "hub id, local save_pretrained folder, or random:<wavlm|hubert|wav2vec2|data2vec-audio>[-tiny]",
    )
    overrides: dict[str, Any] = option(
        {}, "config keys for random: teachers (e.g. num_hidden_layers: 4)"
    )
    seed: int = option(0, "seed of a random: teacher's weights", ge=0)
    mixed_precision: bool = option(
        False,
        "run the teacher under the trainer's mixed precision too (faster); false keeps it"
        " in fp32 as in the paper",
    )

    def check(self, prefix: str) -> None:
        if self.spec.startswith("random:"):
            kind = self.spec.split(":", 1)[1].removesuffix("-tiny")
            if kind not in RANDOM_TEACHER_TYPES:
                raise ConfigError(
                    f"{prefix}.spec: unknown random teacher type {kind!r}"
                    f" (one of {', '.join(RANDOM_TEACHER_TYPES)})"
                )
        elif self.overrides:
            raise ConfigError(f"{prefix}.overrides: only random: teachers take config overrides")
        elif not self.spec.strip():
            raise ConfigError(f"{prefix}.spec: required")


@dataclass
class StudentSection:
    preset: str = option(
        "gendistiller-base",
        "gendistiller-base | distilhubert-base | gendistiller-tiny | distilhubert-tiny",
    )
    overrides: dict[str, Any] = option(
        {}, "student config keys on top of the preset (e.g. teacher_forcing_ratio: 0.5)"
    )
    init_from_teacher: bool = option(
        True, "start the front-end and first block(s) from the teacher's weights"
    )
    scale_to_teacher: bool = option(
        False,
        "resize the preset to the teacher (width, heads, FFN, conv encoder; targets at 1/3, 2/3,"
        " 3/3 of its depth), the rule that gives the *-base presets for a 12-layer 768-d teacher",
    )

    def check(self, prefix: str) -> None:
        self.build_config(prefix)  # cheap: a config object, no weights

    def build_config(self, prefix: str = "student", teacher_config: Any = None):
        """The student config; with ``scale_to_teacher``, resized to ``teacher_config``
        (validated without it when the teacher is not known yet)."""
        from gendistiller.students import get_preset
        from gendistiller.students.presets import scaled_to_teacher

        try:
            if self.scale_to_teacher and teacher_config is not None:
                config = scaled_to_teacher(self.preset, teacher_config, **self.overrides)
            else:
                config = get_preset(self.preset, **self.overrides)
            config.validate_architecture()
        except ConfigError as err:
            key = "preset" if "preset" in str(err) else "overrides"
            raise ConfigError(f"{prefix}.{key}: {err}") from None
        return config


@dataclass
class LossConfig:
    cos_weight: float = option(1.0, "weight of the -log sigmoid(cosine) term", ge=0)
    distance: str = option("l1", "distance term per frame", choices=("l1", "l2"))


@dataclass
class OptimConfig:
    lr: float = option(2e-4, "peak learning rate (AdamW)", gt=0)
    betas: tuple[float, float] = option((0.9, 0.98), "Adam betas", ge=0, lt=1)
    eps: float = option(1e-6, "Adam epsilon", gt=0)
    weight_decay: float = option(0.01, "decoupled weight decay (not on biases and norms)", ge=0)
    warmup_ratio: float = option(
        0.07, "share of max_steps with linear warm-up; then linear decay to 0", ge=0, lt=1
    )


@dataclass
class TrainerConfig:
    max_steps: int = option(200_000, "optimiser steps", ge=1)
    accelerator: str = option("auto", "auto | cpu | gpu | cuda | mps | tpu")
    devices: int | str = option("auto", "devices per node: a count, a list like '0,1', or auto")
    num_nodes: int = option(1, "nodes for multi-node DDP", ge=1)
    strategy: str = option("auto", "Lightning strategy: auto | ddp | ddp_spawn | fsdp | ...")
    precision: str = option("32", "numeric precision", choices=PRECISIONS)
    accumulate_grad_batches: int = option(1, "batches per optimiser step", ge=1)
    gradient_clip_val: float = option(5.0, "clip the gradient norm to this (0: off)", ge=0)
    log_every_n_steps: int = option(50, "steps between logged metrics", ge=1)
    max_nonfinite_steps: int = option(
        5, "stop after this many NaN/inf losses in a row (each one skips its step)", ge=1
    )
    progress_bar: bool = option(True, "show the progress bar")
    cpu_threads: int = option(
        0, "torch intra-op threads per process on CPU (0: torch's default, all cores)", ge=0
    )

    def check(self, prefix: str) -> None:
        from lightning.pytorch.strategies import StrategyRegistry

        if self.strategy != "auto" and self.strategy not in StrategyRegistry:
            raise ConfigError(
                f"{prefix}.strategy: unknown strategy {self.strategy!r}"
                f" (e.g. {', '.join(sorted(StrategyRegistry)[:6])}, ...)"
            )
        if isinstance(self.devices, int) and self.devices < 1 and self.devices != -1:
            raise ConfigError(f"{prefix}.devices: must be >= 1, -1 (all) or auto")


@dataclass
class CheckpointConfig:
    every_n_steps: int = option(
        5000, "save a checkpoint every this many steps (and at the end)", ge=1
    )
    keep_last: int = option(3, "checkpoints kept in the run folder", ge=1)


@dataclass
class DistillConfig:
    run: RunConfig
    teacher: TeacherConfig
    student: StudentSection
    data: DataConfig
    loss: LossConfig
    optim: OptimConfig
    trainer: TrainerConfig
    checkpoint: CheckpointConfig

    @property
    def run_dir(self) -> Path:
        try:
            return Path(self.run.dir.format(name=self.run.name)).expanduser()
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigError(f"run.dir: bad placeholder in {self.run.dir!r} ({err})") from None

    def check(self, prefix: str) -> None:
        _ = self.run_dir

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def recipe_names() -> list[str]:
    folder = resources.files("gendistiller") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def recipe_text(name: str) -> str:
    return (resources.files("gendistiller") / "recipes" / f"{name}.yaml").read_text(
        encoding="utf-8"
    )


def load_config(recipe: str | None, overrides: list[str] = ()) -> DistillConfig:
    """A validated config from a shipped recipe name or a YAML path, plus dotted overrides."""
    data: dict[str, Any] = {}
    if recipe:
        if recipe in recipe_names():
            import yaml

            data = yaml.safe_load(recipe_text(recipe)) or {}
        elif Path(recipe).is_file():
            data = load_yaml(recipe)
        else:
            raise ConfigError(
                f"--config: {recipe!r} is neither a shipped recipe ({', '.join(recipe_names())})"
                " nor a YAML file"
            )
    return from_dict(DistillConfig, apply_overrides(data, list(overrides)))
