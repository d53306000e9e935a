"""Run a reproduction: distil and evaluate every (variant, seed), then time each variant.

Layout of the output folder (every file written atomically, so a killed run resumes by
skipping what is finished)::

    OUT/runs/VARIANT-seedN/      distillation run (config.yaml, checkpoints, student/)
    OUT/jobs/VARIANT-seedN.json  that student's fidelity and probe scores
    OUT/teacher-seedN.json       the teacher's probe scores with the same probe seeds
    OUT/efficiency.json          parameters, MACs and CPU latency per variant
    OUT/wall_time.json           wall time summed over invocations
    OUT/results/                 the table, the claims and the plots (results.py)
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from gendistiller.evaluation.report import write_json
from gendistiller.reproduce.plan import Job, Scale, Variant, distill_config, jobs
from gendistiller.teachers import EMBEDDED

log = logging.getLogger(__name__)

RUNS, JOBS, RESULTS = "runs", "jobs", "results"


@dataclass
class Context:
    """What every job needs, picklable for worker processes."""

    out: Path
    scale: Scale
    teacher: str
    corpus_root: Path
    manifest: Path
    threads: int

    def run_dir(self, job: Job) -> Path:
        return self.out / RUNS / f"{job.variant.name}-seed{job.seed}"

    def result_path(self, job: Job) -> Path:
        return self.out / JOBS / f"{job.variant.name}-seed{job.seed}.json"


def reproduce(
    scale: Scale,
    variants: tuple[Variant, ...],
    out: Path,
    *,
    teacher: str = EMBEDDED,
    workers: int = 1,
    threads: int = 1,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Everything ``scale`` asks for, resuming from ``out``; returns the collected results."""
    from gendistiller.corpus import default_corpus

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    corpus = default_corpus(size=scale.corpus_size, progress=progress)
    ctx = Context(
        out=out,
        scale=scale,
        teacher=teacher,
        corpus_root=corpus.root,
        manifest=corpus.write_manifest(out / "train_manifest.tsv"),
        threads=threads,
    )
    planned = jobs(scale, variants)
    todo = [j for j in planned if not ctx.result_path(j).is_file()]
    done = len(planned) - len(todo)
    say(
        f"{len(variants)} students x {len(scale.seeds)} seeds at scale {scale.name}: "
        f"{done} done, {len(todo)} to run ({workers} worker(s), {threads} thread(s) each)"
    )
    for i, (job, seconds) in enumerate(_run_all(ctx, todo, workers), start=done + 1):
        say(f"[{i}/{done + len(todo)}] {job.name}: {seconds:.0f} s")
    for seed in scale.seeds:
        path = out / f"teacher-seed{seed}.json"
        if not path.is_file():
            say(f"teacher probes, seed {seed}")
            write_json(path, evaluate_teacher(ctx, seed))
    efficiency_path = out / "efficiency.json"
    if not efficiency_path.is_file():
        say(f"timing the teacher and {len(variants)} students ({threads} thread(s))")
        write_json(efficiency_path, time_variants(ctx, variants))
    return add_wall_time(out, time.perf_counter() - started)


def add_wall_time(out: Path, seconds: float) -> dict[str, Any]:
    """Wall time summed over every invocation that worked on ``out`` (a resumed
    reproduction reports its whole cost, not just the last call's)."""
    path = out / "wall_time.json"
    total = json.loads(path.read_text()) if path.is_file() else {"seconds": 0.0, "invocations": 0}
    total = {
        "seconds": round(total["seconds"] + seconds, 1),
        "invocations": total["invocations"] + 1,
    }
    write_json(path, total)
    return total


def _run_all(ctx: Context, todo: list[Job], workers: int):
    if workers <= 1:
        for job in todo:
            yield job, run_job(ctx, job)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_job, ctx, job): job for job in todo}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_job(ctx: Context, job: Job) -> float:
    """Distil (resuming a partial run) and evaluate one student; returns seconds spent."""
    from gendistiller.training.run import STUDENT_DIR, train

    torch.set_num_threads(ctx.threads)
    _quiet_libraries()
    started = time.perf_counter()
    run_dir = ctx.run_dir(job)
    student_dir = run_dir / STUDENT_DIR
    trained = run_dir / "trained.json"
    if not trained.is_file():
        cfg = distill_config(
            job,
            ctx.scale,
            teacher=ctx.teacher,
            manifest=ctx.manifest,
            corpus_root=ctx.corpus_root,
            run_dir=run_dir,
        )
        result = train(cfg, progress=False)
        write_json(
            trained,
            {"steps": result.global_step, "seconds": round(time.perf_counter() - started, 1)},
        )
    train_seconds = time.perf_counter() - started
    report = evaluate_student(ctx, job, student_dir)
    report["seconds"] = {
        "distill": round(train_seconds, 1),
        "evaluate": round(time.perf_counter() - started - train_seconds, 1),
    }
    write_json(ctx.result_path(job), report)
    return time.perf_counter() - started


def evaluate_student(ctx: Context, job: Job, student_dir: Path) -> dict[str, Any]:
    from gendistiller.evaluation.fidelity import fidelity
    from gendistiller.evaluation.superb import load_upstream

    corpus = _corpus(ctx)
    student = load_upstream(student_dir, name=job.variant.name)
    teacher = _load_teacher(ctx.teacher)
    held_out = [r for r in corpus.records if r.split == "test"]
    random.Random(0).shuffle(held_out)  # the same utterances for every student
    waves = (corpus.load(r) for r in held_out[: ctx.scale.fidelity_utterances])
    fid = fidelity(student, teacher, waves, metric="cka")
    model = student.model
    return {
        "variant": job.variant.name,
        "seed": job.seed,
        "parameters": student.parameter_count(),
        "parameters_with_heads": sum(p.numel() for p in model.parameters()),
        "fidelity": {
            "target_layers": fid.target_layers,
            "l1": fid.l1,
            "cosine": fid.cosine,
        },
        "probes": _probes(ctx, student, job.seed),
    }


def evaluate_teacher(ctx: Context, seed: int) -> dict[str, Any]:
    torch.set_num_threads(ctx.threads)
    teacher = _load_teacher(ctx.teacher)
    return {
        "variant": "teacher",
        "seed": seed,
        "parameters": teacher.parameter_count(),
        "probes": _probes(ctx, teacher, seed, cache=ctx.out / "teacher-features"),
    }


def _probes(ctx: Context, upstream, seed: int, cache: Path | None = None) -> dict[str, Any]:
    from gendistiller.evaluation.probes import TASKS, run_probes

    corpus = _corpus(ctx)
    data = {
        t: TASKS[t].from_corpus(corpus).subset(*ctx.scale.probe_examples).check()
        for t in ctx.scale.tasks
    }
    recipes = {t: TASKS[t].recipe.with_overrides(**ctx.scale.probe_recipe) for t in data}
    results = run_probes(
        upstream, data, cache_dir=cache, recipes=recipes, seed=seed, progress=False
    )
    keep = ("metric", "lower_is_better", "test", "dev", "chance", "layer_weights")
    return {t: {k: r.as_dict()[k] for k in keep} for t, r in results.items()}


def time_variants(ctx: Context, variants: tuple[Variant, ...]) -> dict[str, Any]:
    """Parameters, MACs and latency of the teacher and each variant's first-seed student,
    in this process, one after another (the machine's noise hits all alike)."""
    from gendistiller.evaluation.efficiency import benchmark
    from gendistiller.evaluation.superb import load_upstream
    from gendistiller.training.run import STUDENT_DIR

    previous = torch.get_num_threads()
    torch.set_num_threads(ctx.threads)
    try:
        first = ctx.scale.seeds[0]
        upstreams = {"teacher": _load_teacher(ctx.teacher)}
        for v in variants:
            folder = ctx.run_dir(Job(v, first)) / STUDENT_DIR
            upstreams[v.name] = load_upstream(folder, name=v.name)
        return benchmark(
            upstreams,
            repeats=ctx.scale.timing_repeats,
            memory=False,
            reference="teacher",
            progress=False,
        )
    finally:
        torch.set_num_threads(previous)


def _quiet_libraries() -> None:
    """Dozens of runs: keep their per-run chatter (weight loading, shard writing, info
    lines) out of the reproduction's own progress lines."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    for name in ("gendistiller", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


@functools.lru_cache(maxsize=2)
def _load_corpus(root: Path):
    from gendistiller.corpus import load_corpus

    return load_corpus(root)


@functools.lru_cache(maxsize=2)
def _load_teacher(spec: str):
    """One teacher per process: every job of a worker compares against the same one."""
    from gendistiller.evaluation.superb import load_upstream

    return load_upstream(spec, name="teacher")


def _corpus(ctx: Context):
    return _load_corpus(ctx.corpus_root)
