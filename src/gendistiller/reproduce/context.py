"""What every unit of a reproduction's work shares: the run's folder, scale, teacher and
corpus (:class:`Context`, picklable for worker processes), and the per-process set-up
and caches (one teacher, one corpus per worker)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from gendistiller.reproduce.plan import Job, Scale, distill_config

RUNS, JOBS, CACHES = "runs", "jobs", "teacher-cache"
TEACHER = "teacher"


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
        return self.out / RUNS / job.slug

    def result_path(self, job: Job) -> Path:
        return self.out / JOBS / f"{job.slug}.json"

    def trained_path(self, job: Job) -> Path:
        """Written once ``job``'s student is distilled: its steps and seconds."""
        return self.run_dir(job) / "trained.json"

    def distilled(self, job: Job) -> bool:
        return self.trained_path(job).is_file()

    def cache_dir(self, seed: int) -> Path | str:
        return self.out / CACHES / f"seed{seed}" if self.scale.teacher_cache else ""

    def config(self, job: Job):
        return distill_config(job, self.scale, teacher=self.teacher, manifest=self.manifest,
                              corpus_root=self.corpus_root, run_dir=self.run_dir(job),
                              teacher_cache=self.cache_dir(job.seed))  # fmt: skip


def setup(ctx: Context) -> None:
    torch.set_num_threads(ctx.threads)
    _quiet_libraries()


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
def teacher_upstream(spec: str):
    """One teacher per process: every job of a worker compares against the same one."""
    from gendistiller.evaluation.superb import load_upstream

    return load_upstream(spec, name=TEACHER)


def corpus(ctx: Context):
    return _load_corpus(ctx.corpus_root)
