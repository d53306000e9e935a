"""Run a reproduction: build the teacher caches, distil and evaluate every (variant, seed),
probe the teacher, its random twin and its degraded copies, then time each variant.

Layout of the output folder (every file written atomically, so a killed run resumes by
skipping what is finished)::

    OUT/teacher-cache/seedN/     the teacher's states for seed N's crops (scale.teacher_cache)
    OUT/teacher-cache/seconds.json  the seconds each seed's cache took to build
    OUT/runs/VARIANT-seedN/      distillation run (config.yaml, checkpoints, losses, student/)
    OUT/jobs/VARIANT-seedN.json  that student's fidelity and probe scores, per test item
    OUT/teacher.json             the teacher's probe scores (the same probe seed as everyone)
    OUT/teacher-random.json      its random-weight twin's (the task check)
    OUT/controls.json            the teacher against itself re-probed and degraded
    OUT/efficiency.json          parameters, MACs and CPU latency per variant
    OUT/wall_time.json           wall time summed over invocations
    OUT/results/                 the tables, the claims and the plots (results.py)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from gendistiller.evaluation.report import write_json
from gendistiller.reproduce import jobs as work
from gendistiller.reproduce.context import TEACHER, Context, teacher_upstream
from gendistiller.reproduce.jobs import RANDOM_TWIN
from gendistiller.reproduce.plan import Job, Scale, jobs
from gendistiller.reproduce.variants import BRIEF_BUDGET, FULL, Variant
from gendistiller.teachers import EMBEDDED

RESULTS = "results"


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
    """Everything ``scale`` asks for, resuming from ``out``; returns the wall time so far."""
    from gendistiller.corpus import default_corpus

    out.mkdir(parents=True, exist_ok=True)
    clock = WallClock(out)
    corpus = default_corpus(size=scale.corpus_size, progress=progress)
    ctx = Context(out=out, scale=scale, teacher=teacher, corpus_root=corpus.root,
                  manifest=corpus.write_manifest(out / "train_manifest.tsv"), threads=threads)  # fmt: skip
    planned = jobs(scale, variants)
    todo = [j for j in planned if not work.job_done(ctx, j)]
    done = len(planned) - len(todo)
    # distilled and evaluated, but a task's recipe changed since
    reprobe = sum(ctx.result_path(j).is_file() and ctx.distilled(j) for j in todo)
    say(
        f"{len(planned)} students ({len(variants)} variants) at scale {scale.name}: "
        f"{done} done, {len(todo)} to run{f' ({reprobe} only probed again)' if reprobe else ''} "
        f"({workers} worker(s), {threads} thread(s) each)"
    )
    caches = _caches_to_build(ctx, todo)
    for job, seconds in _run_all(ctx, [(work.build_cache, j) for j in caches], workers):
        clock.tick()
        work.add_cache_seconds(ctx, job.seed, seconds)
        say(
            f"teacher cache for seed {job.seed} ({ctx.config(job).trainer.max_steps} steps): {seconds:.0f} s"
        )
    references = [r for r in (TEACHER, RANDOM_TWIN) if not work.reference_done(ctx, r)]
    if TEACHER in references and scale.controls:
        say(
            f"the teacher's probes, then the controls: re-probed, and degraded with {' and '.join(scale.control_noise)} noise to cosine {', '.join(map(str, scale.controls))}"
        )
    units = [(work.run_reference, r) for r in references] + [
        (work.run_job, j) for j in _long_first(todo)
    ]
    for item, seconds in _run_all(ctx, units, workers):
        clock.tick()
        if isinstance(item, Job):
            done += 1
            say(f"[{done}/{len(planned)}] {item.name}: {seconds:.0f} s")
        else:
            say(
                f"probes of the {item}{' and the controls' if item == TEACHER and scale.controls else ''}: {seconds:.0f} s"
            )
    efficiency_path = out / "efficiency.json"
    timed = json.loads(efficiency_path.read_text())["models"] if efficiency_path.is_file() else {}
    if not {v.name for v in variants} <= set(timed):  # all again: one run, one set of ratios
        say(f"timing the teacher and {len(variants)} students ({threads} thread(s))")
        write_json(efficiency_path, time_variants(ctx, variants))
    return clock.tick()


def _caches_to_build(ctx: Context, todo: list[Job]) -> list[Job]:
    """For each seed with students still to train, its longest job (whose crops contain
    every shorter job's), unless that seed's cache is complete."""
    if not ctx.scale.teacher_cache:
        return []
    longest: dict[int, Job] = {}
    for job in todo:
        if ctx.distilled(job):
            continue
        best = longest.get(job.seed)
        if best is None or ctx.scale.steps_of(job.variant) > ctx.scale.steps_of(best.variant):
            longest[job.seed] = job
    return list(longest.values())


class WallClock:
    """Wall time summed over every invocation that worked on ``out`` (a resumed
    reproduction reports its whole cost, not just the last call's). Each finished unit of
    work adds the time since the last one, so a killed invocation loses at most the
    unit it was in."""

    def __init__(self, out: Path):
        self.path = out / "wall_time.json"
        self.last = time.perf_counter()
        self.tick(new_invocation=True)

    def tick(self, *, new_invocation: bool = False) -> dict[str, Any]:
        now = time.perf_counter()
        total = (
            json.loads(self.path.read_text())
            if self.path.is_file()
            else {"seconds": 0.0, "invocations": 0}
        )
        total = {
            "seconds": round(total["seconds"] + now - self.last, 1),
            "invocations": total["invocations"] + int(new_invocation),
        }
        self.last = now
        write_json(self.path, total)
        return total


def _long_first(todo: list[Job]) -> list[Job]:
    """Students probed on every task (full, then brief budget) before the ablations (a
    stable sort keeps the plan's order within each group), so that the workers' last
    units are short and they finish together."""
    order = {FULL: 0, BRIEF_BUDGET: 1}
    return sorted(todo, key=lambda j: order.get(j.variant.budget, 2))


def _run_all(
    ctx: Context, units: list[tuple[Callable, Any]], workers: int
) -> Iterable[tuple[Any, float]]:
    """Run each ``fn(ctx, item)`` of ``units`` (in a pool of ``workers`` processes, in this
    order as workers free up), yielding ``(item, seconds)`` as each finishes."""
    if workers <= 1 or len(units) <= 1:
        for fn, item in units:
            yield item, fn(ctx, item)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(fn, ctx, item): item for fn, item in units}
        for future in as_completed(futures):
            yield futures[future], future.result()


def time_variants(ctx: Context, variants: tuple[Variant, ...]) -> dict[str, Any]:
    """Parameters, MACs and latency of the teacher and each variant's first-seed student,
    in this process, one after another (the machine's noise hits all alike)."""
    from gendistiller.evaluation.efficiency import benchmark
    from gendistiller.evaluation.superb import load_upstream
    from gendistiller.training.run import STUDENT_DIR

    previous = torch.get_num_threads()
    torch.set_num_threads(ctx.threads)
    try:
        upstreams = {"teacher": teacher_upstream(ctx.teacher)}
        for v in variants:
            job = Job(v, ctx.scale.seeds_of(v)[0])
            upstreams[v.name] = load_upstream(ctx.run_dir(job) / STUDENT_DIR, name=v.name)
        return benchmark(
            upstreams,
            repeats=ctx.scale.timing_repeats,
            memory=False,
            settle=1,  # small students timed after large ones: see measure/timer.py
            reference="teacher",
            progress=False,
        )
    finally:
        torch.set_num_threads(previous)
