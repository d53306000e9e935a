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

from gendistiller.teachers import EMBEDDED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="runs/demo", help="folder for the run, the student and the report"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="distillation steps (default: the demo recipe's)"
    )
    parser.add_argument(
        "--corpus-size", default="default", help="offline corpus size (tiny, small, default)"
    )
    parser.add_argument("--tasks", default="pr,ks,sid,ic,asr", help="probes to run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from gendistiller.corpus import default_corpus
    from gendistiller.evaluation.evaluate import EvaluateConfig, evaluate
    from gendistiller.evaluation.probes import parse_tasks
    from gendistiller.training.cli import setup_logging
    from gendistiller.training.config import load_config
    from gendistiller.training.run import train

    setup_logging()
    start = time.perf_counter()
    out = Path(args.out)
    progress = not args.quiet
    tasks = parse_tasks(args.tasks)

    print(f"[1/3] offline corpus ({args.corpus_size})", flush=True)
    corpus = default_corpus(size=args.corpus_size, progress=progress)
    manifest = corpus.write_manifest(out / "train_manifest.tsv")

    teacher_spec = EMBEDDED
    overrides = [f"data.manifest={manifest}", f"data.root={corpus.root}", f"run.dir={out / 'run'}"]
    overrides.append(f"teacher.spec={teacher_spec}")
    if args.steps:
        overrides.append(f"trainer.max_steps={args.steps}")
    overrides.append(f"trainer.progress_bar={'true' if progress else 'false'}")
    cfg = load_config("demo", overrides)

    print(
        f"[2/3] distil {teacher_spec} -> GenDistiller ({cfg.trainer.max_steps} steps)", flush=True
    )
    result = train(cfg)

    print("[3/3] evaluate teacher and student", flush=True)
    report_dir = out / "report"
    report = evaluate(
        EvaluateConfig(
            models={"teacher": teacher_spec, "student": str(result.student_dir)},
            out=str(report_dir),
            tasks=tasks,
            corpus=str(corpus.root),
            teacher="teacher",
            progress=progress,
            command="gendistiller demo",
        )
    )
    print()
    print(summary(report, tasks))
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
