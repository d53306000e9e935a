"""``gendistiller demo`` (``make demo``): the main job end to end, offline.

1. build (or reuse) the default offline corpus;
2. distil the embedded teacher into a GenDistiller student (recipe ``demo``) on the
   corpus's training speakers;
3. evaluate teacher and student side by side: fidelity, the five probes, efficiency;
4. print a short summary and where the student and the report are.

A second run reuses the corpus, the finished training run and the cached features.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gendistiller.config import ConfigModel, Field, add_flags, from_flags
from gendistiller.evaluation.evaluate_config import Tasks
from gendistiller.teachers import EMBEDDED


class DemoConfig(ConfigModel):
    """Options of ``gendistiller demo`` (its flags are generated from these fields)."""

    out: str = Field("runs/demo", description="folder for the run, the student and the report")
    steps: int | None = Field(
        None, ge=1, description="distillation steps (default: the demo recipe's)"
    )
    corpus_size: str = Field(
        "default", description="offline corpus size (tiny, small, default, eval)"
    )
    tasks: Tasks = Field(
        default_factory=lambda: ["pr", "ks", "sid", "ic", "asr"], description="probes to run"
    )
    progress: bool = Field(
        True, description="show progress bars", json_schema_extra={"flag": "--quiet"}
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flags(parser, DemoConfig)


def run(args: argparse.Namespace) -> int:
    return demo(from_flags(DemoConfig, args))


def demo(opts: DemoConfig) -> int:
    from gendistiller.corpus import default_corpus
    from gendistiller.evaluation.evaluate import EvaluateConfig, evaluate
    from gendistiller.training.cli import setup_logging
    from gendistiller.training.config import load_config
    from gendistiller.training.run import train

    setup_logging()
    start = time.perf_counter()
    out = Path(opts.out)

    print(f"[1/3] offline corpus ({opts.corpus_size})", flush=True)
    corpus = default_corpus(size=opts.corpus_size, progress=opts.progress)
    manifest = corpus.write_manifest(out / "train_manifest.tsv")

    teacher_spec = EMBEDDED
    steps = {"max_steps": opts.steps} if opts.steps else {}
    cfg = load_config("demo").merged(
        run={"dir": out / "run"},
        teacher={"spec": teacher_spec},
        data={"manifest": manifest, "root": corpus.root},
        trainer={"progress_bar": opts.progress, **steps},
    )

    print(
        f"[2/3] distil {teacher_spec} -> GenDistiller ({cfg.trainer.max_steps} steps)", flush=True
    )
    result = train(cfg)

    print("[3/3] evaluate teacher and student", flush=True)
    report_dir = out / "report"
    report = evaluate(
        EvaluateConfig(
            models={"teacher": teacher_spec, "student": str(result.student_dir)},
            out=report_dir,
            tasks=opts.tasks,
            corpus=corpus.root,
            teacher="teacher",
            progress=opts.progress,
            command="gendistiller demo",
        )
    )
    print()
    print(summary(report, opts.tasks))
    print(f"\nstudent: {result.student_dir}")
    print(f"report:  {report_dir / 'report.md'}")
    print(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min")
    return 0


def summary(report: dict, tasks: list[str]) -> str:
    """The report's headline numbers: fidelity, probe scores and cost, side by side."""
    from gendistiller.evaluation.report import efficiency_table, probe_table

    parts = []
    for student, fid in report.get("fidelity", {}).items():
        cos = ", ".join(
            f"layer {k}: {c:.3f}" for k, c in zip(fid["target_layers"], fid["cosine"], strict=True)
        )
        parts.append(f"{student} fidelity (cosine to the teacher, free running): {cos}")
    if report.get("probes"):
        parts.append(probe_table(report["probes"], tasks))
    if report.get("efficiency"):
        parts.append(efficiency_table(report["efficiency"]))
    return "\n\n".join(parts)
