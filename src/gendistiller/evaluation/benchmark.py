"""``gendistiller benchmark``: parameters, MACs, latency per runtime and thread count, RTF,
peak memory, side by side, with every time's ratio to the teacher's PyTorch fp32 time.

Default models: the four 768-d student presets (the paper's two and their fast
versions) and a WavLM Base+ shaped teacher with random weights (cost does not depend on
the weights)::

    gendistiller benchmark --threads 1,2 --runtimes pytorch,onnx,onnx-int8 --out bench/
    gendistiller benchmark teacher=microsoft/wavlm-base-plus student=runs/x/student

Prints the JSON (``--json``) or the tables, and writes ``benchmark.json``,
``benchmark.md`` and ``benchmark.png`` to ``--out``. The options are the fields of
:class:`BenchmarkConfig` (defaults and help written once, there).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Annotated

from pydantic import field_validator, model_validator

from gendistiller.config import CommaList, ConfigModel, Field, FieldError, add_flags, from_flags
from gendistiller.evaluation import plots
from gendistiller.evaluation.efficiency import benchmark as run_benchmark
from gendistiller.evaluation.efficiency import load_upstreams
from gendistiller.evaluation.evaluate import parse_models
from gendistiller.evaluation.report import efficiency_table, write_json
from gendistiller.evaluation.runtimes import RUNTIMES, check_runtimes
from gendistiller.export.quantize import DEFAULT_WEIGHT_TYPE, WEIGHT_TYPES
from gendistiller.io import write_text

DEFAULT_MODELS = (
    "teacher=random:wavlm",
    "gendistiller=gendistiller-base",
    "distilhubert=distilhubert-base",
    "gendistiller-fast=gendistiller-fast",
    "distilhubert-fast=distilhubert-fast",
)


Floats = Annotated[list[float], CommaList]
Ints = Annotated[list[int], CommaList]
Names = Annotated[list[str], CommaList]


class BenchmarkConfig(ConfigModel):
    """What ``gendistiller benchmark`` measures, and how."""

    models: list[str] = Field(list(DEFAULT_MODELS), description="NAME=SPEC models (student folder or preset, teacher spec)")  # fmt: skip
    out: str = Field("", description="folder for benchmark.json, benchmark.md and benchmark.png")
    teacher: str = Field("", description="reference model for the ratios (default: the first teacher)")  # fmt: skip
    runtimes: Names = Field([*RUNTIMES], description="comma-separated runtimes: " + ", ".join(RUNTIMES))  # fmt: skip
    threads: Ints = Field([], description="comma-separated torch/onnxruntime thread counts, each timed in its own round (empty: torch's default)")  # fmt: skip
    seconds: Floats = Field([10.0], description="comma-separated input lengths in seconds")
    repeats: int = Field(5, ge=1, description="timed runs per model, runtime and input (median)")
    warmup: int = Field(1, ge=0, description="untimed rounds first")
    settle: int = Field(1, ge=0, description="untimed calls of the same model right before each timed one (what the previous model left running slows them instead)")  # fmt: skip
    int8_weights: str = Field(DEFAULT_WEIGHT_TYPE, description="int8 weight types (docs/export.md): " + ", ".join(WEIGHT_TYPES))  # fmt: skip
    memory: bool = Field(True, description="measure peak memory (one child process per model)")
    json_output: bool = Field(False, description="print the JSON instead of the tables", json_schema_extra={"flag": "--json"})  # fmt: skip
    quiet: bool = Field(False, description="print no progress messages")

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one NAME=SPEC")
        return value

    @field_validator("runtimes")
    @classmethod
    def _runtimes(cls, value: list[str]) -> list[str]:
        return check_runtimes(value)

    @field_validator("threads")
    @classmethod
    def _threads(cls, value: list[int]) -> list[int]:
        if any(t < 1 for t in value):
            raise ValueError("every thread count must be at least 1")
        return value

    @field_validator("seconds")
    @classmethod
    def _seconds(cls, value: list[float]) -> list[float]:
        if not value or any(s < 0.025 for s in value):
            raise ValueError("give input lengths of at least 0.025 s (one frame)")
        return value

    @field_validator("int8_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        if value not in WEIGHT_TYPES:
            raise ValueError(f"one of {', '.join(WEIGHT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _teacher_is_a_model(self) -> BenchmarkConfig:
        names = list(parse_models(self.models))
        if self.teacher and self.teacher not in names:
            raise FieldError(
                "teacher", f"no model named {self.teacher!r} (models: {', '.join(names)})"
            )
        return self


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="NAME=SPEC",
                        help=f"{BenchmarkConfig.model_fields['models'].description}; default: {' '.join(DEFAULT_MODELS)}")  # fmt: skip
    add_flags(parser, BenchmarkConfig, exclude=("models",))


def runtime_table(bench: dict) -> str:
    """One row per model, runtime, thread count and input: median, spread, ratio."""
    ref = bench.get("reference") or "reference"
    lines = [
        f"| model | runtime | threads | input (s) | median (ms) | min-max (ms) | RTF "
        f"| vs {ref} PyTorch fp32 | file (MB) | min cosine vs fp32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in bench["rows"]:
        ratio = "" if r["vs_reference"] is None else f"{r['vs_reference']:.3f}"
        size = "" if r["file_mb"] is None else f"{r['file_mb']:.1f}"
        cos = "" if r["min_cosine"] is None else f"{r['min_cosine']:.5f}"
        lines.append(
            f"| {r['model']} | {r['runtime']} | {r['threads']} | {r['seconds']:g} "
            f"| {r['median_ms']:.0f} | {r['min_ms']:.0f}-{r['max_ms']:.0f} | {r['rtf']:.3f} "
            f"| {ratio} | {size} | {cos} |"
        )
    return "\n".join(lines)


def report(bench: dict) -> str:
    return efficiency_table(bench) + "\n\n" + runtime_table(bench)


def run(args: argparse.Namespace) -> int:
    given = {"models": args.models} if args.models else {}
    return run_config(from_flags(BenchmarkConfig, args, **given))


def run_config(cfg: BenchmarkConfig) -> int:
    upstreams = load_upstreams(parse_models(cfg.models))
    bench = run_benchmark(
        upstreams, repeats=cfg.repeats, memory=cfg.memory, reference=cfg.teacher or None,
        progress=not cfg.quiet, seconds=cfg.seconds, threads=cfg.threads or None,
        runtimes=cfg.runtimes, int8_weights=cfg.int8_weights, warmup=cfg.warmup, settle=cfg.settle,
    )  # fmt: skip
    text = report(bench)
    if cfg.out:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "benchmark.json", bench)
        write_text(out / "benchmark.md", text + "\n\n![efficiency](benchmark.png)\n")
        plots.efficiency_chart(bench, out / "benchmark.png")
    print(json.dumps(bench, indent=1) if cfg.json_output else text)
    return 0
