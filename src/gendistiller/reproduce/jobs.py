"""One unit of a reproduction's work, runnable in a worker process: distil and evaluate a
student, probe the teacher or its random-weight twin, run the controls, build a seed's
teacher cache. Every result keeps its per-item test scores, so any two models can be
compared on the same items later (:mod:`gendistiller.reproduce.results`)."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

from gendistiller.evaluation.report import write_json
from gendistiller.io import read_json
from gendistiller.reproduce.context import (
    CACHES,
    TEACHER,
    Context,
    corpus,
    setup,
    teacher_upstream,
)
from gendistiller.reproduce.plan import Job
from gendistiller.reproduce.probing import probe_stale, recipe_dicts, stale_tasks, task_data

log = logging.getLogger(__name__)

RANDOM_TWIN = "teacher-random"
CONTROLS = "controls"
CACHE_SECONDS = "seconds.json"


def build_cache(ctx: Context, job: Job) -> float:
    """The teacher's states for ``job``'s sequence of crops (the longest job of its seed)."""
    from gendistiller.training.teacher_cache_build import build_teacher_cache

    setup(ctx)
    started = time.perf_counter()
    cfg = ctx.config(job)
    build_teacher_cache(cfg, cfg.teacher.cache, steps=cfg.trainer.max_steps)
    return time.perf_counter() - started


def add_cache_seconds(ctx: Context, seed: int, seconds: float) -> None:
    """Add a cache build's time to OUT/teacher-cache/seconds.json (per seed: a cache
    extended for a longer run adds its extension)."""
    path = ctx.out / CACHES / CACHE_SECONDS
    found = read_json(path, {})
    found[str(seed)] = round(found.get(str(seed), 0.0) + seconds, 1)
    write_json(path, found)


def run_job(ctx: Context, job: Job) -> float:
    """Distil (resuming a partial run) and evaluate one student, or only probe again the
    tasks its result probed with another recipe (:func:`stale_tasks`); returns seconds
    spent."""
    from gendistiller.training.run import STUDENT_DIR, train

    setup(ctx)
    started = time.perf_counter()
    path, trained = ctx.result_path(job), ctx.trained_path(job)
    # A result is only this student's while the student it measured is still there.
    previous = read_json(path) if trained.is_file() else None
    if trained.is_file():  # distilled by an earlier invocation (killed before its result?)
        distill = json.loads(trained.read_text())["seconds"]
    else:
        result = train(ctx.config(job), progress=False)
        distill = round(time.perf_counter() - started, 1)
        write_json(trained, {"steps": result.global_step, "seconds": distill})
    evaluating = time.perf_counter()
    report = evaluate_student(ctx, job, ctx.run_dir(job) / STUDENT_DIR, previous)
    spent = round(time.perf_counter() - evaluating, 1)
    report["seconds"] = (
        {"distill": distill, "evaluate": spent}
        if previous is None
        else {**previous["seconds"], "reprobe": spent}  # what a resumed run added
    )
    write_json(path, report)
    return time.perf_counter() - started


def job_done(ctx: Context, job: Job) -> bool:
    """Whether ``job``'s result is written and probed every task with this scale's recipe."""
    path = ctx.result_path(job)
    tasks = ctx.scale.tasks_of(job.variant)
    return path.is_file() and not stale_tasks(ctx, json.loads(path.read_text()), tasks)


def evaluate_student(
    ctx: Context, job: Job, student_dir: Path, previous: dict | None = None
) -> dict[str, Any]:
    """Fidelity and probes of one student; with ``previous`` (its earlier result), its
    fidelity and the probes of the tasks still fresh are kept."""
    from gendistiller.evaluation.superb import load_upstream

    student = load_upstream(student_dir, name=job.variant.name)
    tasks = ctx.scale.tasks_of(job.variant)
    return {
        "variant": job.variant.name,
        "budget": job.variant.budget,
        "seed": job.seed,
        "steps": ctx.scale.steps_of(job.variant),
        "parameters": student.parameter_count(),
        "parameters_with_heads": sum(p.numel() for p in student.model.parameters()),
        "fidelity": previous["fidelity"] if previous else _fidelity(ctx, student),
        "probes": probe_stale(ctx, student, previous, tasks),
    }


def _fidelity(ctx: Context, student) -> dict[str, Any]:
    from gendistiller.evaluation.fidelity import fidelity

    found = corpus(ctx)
    held_out = [r for r in found.records if r.split == "test"]
    random.Random(0).shuffle(held_out)  # the same utterances for every student
    chosen = held_out[: ctx.scale.fidelity_utterances]
    fid = fidelity(student, teacher_upstream(ctx.teacher), (found.load(r) for r in chosen),
                   metric="cka", ids=[r.id for r in chosen])  # fmt: skip
    return {"target_layers": fid.target_layers, "l1": fid.l1, "cosine": fid.cosine,
            "items": fid.items}  # fmt: skip


def reference_done(ctx: Context, which: str) -> bool:
    """Whether ``run_reference(ctx, which)`` has nothing left to do: its probes written with
    this scale's recipes and, for the teacher, controls with the scale's degraded copies
    and recipes (else what differs is run again)."""
    path = ctx.out / f"{which}.json"
    done = path.is_file() and not stale_tasks(ctx, json.loads(path.read_text()), ctx.scale.tasks)
    if which == TEACHER and ctx.scale.controls:
        done = done and not stale_controls(ctx, _controls_written(ctx))
    return done


def _controls_written(ctx: Context) -> dict | None:
    path = ctx.out / f"{CONTROLS}.json"
    return read_json(path)


def stale_controls(ctx: Context, found: dict | None) -> tuple[str, ...]:
    """The tasks whose controls (``found``: OUT/controls.json) are missing or were run
    with other recipes; every task when the degraded copies are not the scale's."""
    from gendistiller.evaluation.controls import control_set

    tasks = ctx.scale.tasks
    if not found or control_set(found) != ctx.scale.control_copies():
        return tasks
    wanted, run = recipe_dicts(ctx, tasks), found.get("recipes", {})
    return tuple(t for t in tasks if t not in found["tasks"] or run.get(t) != wanted[t])


def run_reference(ctx: Context, which: str) -> float:
    """Probe the teacher, then run the controls on its cached features (OUT/teacher.json,
    OUT/controls.json), or probe its random twin (OUT/teacher-random.json), skipping what
    is written with this scale's recipes; returns seconds spent."""
    setup(ctx)
    started = time.perf_counter()
    path = ctx.out / f"{which}.json"
    previous = read_json(path)
    if previous is None or stale_tasks(ctx, previous, ctx.scale.tasks):
        found = evaluate_reference(ctx, which, previous)
        write_json(path, {**found, "seconds": round(time.perf_counter() - started, 1)})
    if which == TEACHER and ctx.scale.controls:
        _update_controls(ctx, json.loads(path.read_text())["probes"])
    return time.perf_counter() - started


def _update_controls(ctx: Context, teacher_results: dict) -> None:
    """Run the controls of the tasks whose controls are stale, keeping the others'."""
    written = _controls_written(ctx)
    stale = stale_controls(ctx, written)
    if not stale:
        return
    started = time.perf_counter()
    found = run_controls(ctx, teacher_results, stale)
    seconds = round(time.perf_counter() - started, 1)  # this run's: what it redid
    if len(stale) < len(ctx.scale.tasks):
        found = _merge_controls(ctx, written, found)
    write_json(ctx.out / f"{CONTROLS}.json", {**found, "seconds": seconds})


def _merge_controls(ctx: Context, kept: dict, new: dict) -> dict:
    tasks = {t: new["tasks"].get(t, kept["tasks"].get(t)) for t in ctx.scale.tasks}
    recipes = {t: new["recipes"].get(t, kept["recipes"].get(t)) for t in ctx.scale.tasks}
    return {**new, "tasks": tasks, "recipes": recipes,
            "passed": all(t["passed"] for t in tasks.values())}  # fmt: skip


def evaluate_reference(ctx: Context, which: str, previous: dict | None = None) -> dict[str, Any]:
    """The teacher's probes (its features cached on disk, for the controls), or those of
    its random-weight twin: the same architecture, never trained (``previous``: its
    earlier result, whose fresh tasks are kept)."""
    setup(ctx)
    if which == TEACHER:
        upstream, cache = teacher_upstream(ctx.teacher), ctx.out / "teacher-features"
    else:
        upstream, cache = _random_twin(ctx.teacher), None
    return {
        "variant": which,
        "seed": 0,
        "parameters": upstream.parameter_count(),
        "probes": probe_stale(ctx, upstream, previous, ctx.scale.tasks, cache=cache),
    }


def run_controls(ctx: Context, teacher_results: dict | None = None,
                 tasks: tuple[str, ...] | None = None) -> dict[str, Any]:  # fmt: skip
    """The teacher against itself re-probed and against its degraded copies, on ``tasks``
    (default: the scale's; ``teacher_results``: the teacher's own probe results, not
    recomputed)."""
    from gendistiller.evaluation.controls import run_controls as controls

    setup(ctx)
    data, recipes = task_data(ctx, tasks)
    found = controls(teacher_upstream(ctx.teacher), data, recipes=recipes,
                     probe_seed=ctx.scale.probe_seed, cosines=ctx.scale.controls,
                     kinds=ctx.scale.control_noise, cache_dir=ctx.out / "teacher-features",
                     teacher_results=teacher_results)  # fmt: skip
    return {**found, "recipes": recipe_dicts(ctx, tuple(data))}


def _random_twin(spec: str):
    """The teacher's architecture with random weights (seed 0)."""
    from gendistiller.evaluation.superb import Upstream
    from gendistiller.teachers import Teacher

    twin = Teacher.from_config(teacher_upstream(spec).config, seed=0, name=RANDOM_TWIN)
    return Upstream(twin, name=RANDOM_TWIN)
