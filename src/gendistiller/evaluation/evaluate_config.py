"""What ``gendistiller evaluate`` runs: one config model, whose fields are also the CLI's
flags (:func:`gendistiller.config.add_flags`), so defaults and help are written once."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, TypeAdapter, ValidationError, field_validator, model_validator

from gendistiller.config import CommaList, ConfigModel, Field, FieldError
from gendistiller.errors import ConfigError
from gendistiller.evaluation.controls import FRAME, NOISE_KINDS
from gendistiller.evaluation.fidelity import METRICS
from gendistiller.evaluation.probes import DATASETS, TASKS, Recipe
from gendistiller.evaluation.probes.asr import LIBRISPEECH_SUBSETS


def _known_tasks(names: list[str]) -> list[str]:
    names = [t.strip().lower() for t in names if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown or not names:
        bad = repr(unknown[0]) if unknown else "(none given)"
        raise ValueError(f"unknown task {bad}; choose from {', '.join(TASKS)}")
    return list(dict.fromkeys(names))


# Probe task names, comma-separated on the command line: ``pr,ks``.
Tasks = Annotated[list[str], CommaList, AfterValidator(_known_tasks)]


class EvaluateConfig(ConfigModel):
    """Models to compare and what to measure; every field but ``models`` (positional)
    and ``command`` has a CLI flag of the same name."""

    models: dict[str, str] = Field(description="NAME -> model spec")
    out: str = Field("evaluation", description="report folder (report.md, report.json, plots)")
    tasks: Tasks = Field(default_factory=lambda: list(TASKS), description="probe tasks")
    teacher: str = Field(
        "", description="name of the reference model (default: 'teacher', else the first teacher)"
    )
    reference: str = Field(
        "",
        description="model every other is compared with, paired over test items (default:"
        " the teacher, else the first model)",
    )
    corpus: str = Field("", description="corpus folder (default: the cached offline corpus)")
    corpus_size: str = Field(
        "eval",
        description="size of the cached corpus when --corpus is not given (eval: at least"
        " 1,000 test items per probe task; default: the demo's, small test sets)",
    )
    data: dict[str, str] = Field(
        default_factory=dict,
        description="a standard dataset instead of the corpus for its task: "
        + ", ".join(f"{d} ({t})" for d, t in DATASETS.items()),
        json_schema_extra={"metavar": "DATASET=ROOT"},
    )
    speech_commands_test: str = Field(
        "",
        description="SUPERB's Speech Commands v0.01 test set folder",
        json_schema_extra={"metavar": "DIR"},
    )
    librispeech_subsets: Annotated[tuple[str, str, str], CommaList] = Field(
        LIBRISPEECH_SUBSETS, description="train,dev,test subsets for ASR"
    )
    fidelity: bool = Field(True, description="measure each student's fidelity to the teacher")
    probes: bool = Field(True, description="train and score the probes")
    efficiency: bool = Field(True, description="run the efficiency benchmark")
    controls: bool = Field(
        False,
        description="also probe the controls: the teacher re-probed (seed + 100) and degraded"
        " to cosine 0.98 and 0.95; gives each task's MDE",
    )
    control_noise: Annotated[list[Literal[NOISE_KINDS]], CommaList] = Field(  # type: ignore[valid-type]
        default_factory=lambda: [FRAME],
        description="the degraded copies' noise (--controls): frame (independent per frame),"
        " utterance (one direction per utterance: survives a probe's mean over frames), or both",
    )
    memory: bool = Field(True, description="measure peak memory (one child process per model)")
    fidelity_utterances: int = Field(
        200, ge=1, description="held-out corpus utterances for fidelity"
    )
    similarity: Literal[METRICS] = Field("cka", description="heatmap similarity")  # type: ignore[valid-type]
    repeats: int = Field(3, ge=1, description="timed runs per model and input length")
    recipe: dict[str, Any] = Field(
        default_factory=dict,
        description="KEY=VALUE overriding a probe recipe field for every task (e.g. steps=50)"
        " for a quick look; scores then do not compare",
    )
    cache: str = Field(
        "", description="feature cache folder (default: OUT/cache); safe to share between runs"
    )
    threads: int = Field(
        0, ge=0, description="torch threads for feature extraction and timing (0: torch's default)"
    )
    seed: int = Field(0, ge=0, description="seed of the probes, data subsets and random weights")
    progress: bool = Field(
        True, description="show progress bars", json_schema_extra={"flag": "--quiet"}
    )
    command: str = Field("", description="the command line, recorded in the report")

    @field_validator("models")
    @classmethod
    def _some_models(cls, models: dict[str, str]) -> dict[str, str]:
        if not models:
            raise ValueError("give at least one NAME=SPEC")
        return models

    @field_validator("data")
    @classmethod
    def _known_datasets(cls, data: dict[str, str]) -> dict[str, str]:
        for name in data:
            if name not in DATASETS:
                raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
        return data

    @field_validator("recipe")
    @classmethod
    def _recipe_fields(cls, recipe: dict[str, Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(Recipe)
        out = {}
        for key, value in recipe.items():
            if key not in hints:
                raise ValueError(f"unknown key {key!r}; known: {', '.join(hints)}")
            try:
                out[key] = TypeAdapter(hints[key]).validate_python(value)
            except ValidationError:
                raise ValueError(f"{key}: expected {hints[key].__name__} (got {value!r})") from None
        return out

    @model_validator(mode="after")
    def _models_named(self) -> EvaluateConfig:
        for key in ("teacher", "reference"):
            name = getattr(self, key)
            if name and name not in self.models:
                raise FieldError(key, f"no model named {name!r} (models: {', '.join(self.models)})")
        return self


def parse_models(items: list[str]) -> dict[str, str]:
    """``["teacher=random:wavlm", "runs/x"]`` -> ``{"teacher": "random:wavlm", "x": "runs/x"}``."""
    models: dict[str, str] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep:
            name, spec = Path(item.rstrip("/")).name or item, item
        if not name or not spec:
            raise ConfigError(f"model {item!r}: expected NAME=SPEC")
        if name in models:
            raise ConfigError(f"model name {name!r} given twice")
        models[name] = spec
    return models
