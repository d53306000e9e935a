"""SUPERB-style probes: a frozen upstream, a learnable weighted sum of its hidden states,
a small head per task, fixed recipes (docs/evaluation.md).

Tasks: ``pr`` (phone error rate), ``ks`` (keyword accuracy), ``sid`` (speaker accuracy),
``ic`` (intent accuracy), ``asr`` (word error rate). Each reads the offline corpus by
default, or a standard dataset layout (:data:`DATASETS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gendistiller.errors import ConfigError
from gendistiller.evaluation.probes import asr, ic, ks, pr, sid
from gendistiller.evaluation.probes.data import Example, TaskData
from gendistiller.evaluation.probes.heads import WeightedSum
from gendistiller.evaluation.probes.store import FeatureStore, build_store
from gendistiller.evaluation.probes.task import CLASSIFY, SEQUENCE, ProbeTask, Recipe
from gendistiller.evaluation.probes.train import ProbeResult, train_probe
from gendistiller.evaluation.superb import Upstream

TASKS: dict[str, ProbeTask] = {t.name: t for t in (pr.TASK, ks.TASK, sid.TASK, ic.TASK, asr.TASK)}
# Dataset name -> task, for `--data NAME=PATH`.
DATASETS: dict[str, str] = {name: t.name for t in TASKS.values() for name in t.datasets}


def parse_tasks(text: str) -> list[str]:
    """``"pr,ks"`` -> ``["pr", "ks"]``, checked against :data:`TASKS`."""
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown or not names:
        raise ConfigError(
            f"--tasks: unknown task {unknown[0] if unknown else text!r}; choose from {', '.join(TASKS)}"
        )
    return list(dict.fromkeys(names))


def task_store(
    upstream: Upstream,
    data: Mapping[str, TaskData],
    cache_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> FeatureStore:
    """``upstream``'s features for every task's audio (frames for the sequence tasks),
    extracted once, reusing what ``cache_dir`` holds."""
    examples = [ex for d in data.values() for ex in d.all_examples()]
    frame_keys = {
        ex.audio_key
        for name, d in data.items()
        if TASKS[name].kind == SEQUENCE
        for ex in d.all_examples()
    }
    return build_store(upstream, examples, frame_keys, cache_dir, progress=progress)


def run_probes(
    upstream: Upstream,
    data: Mapping[str, TaskData],
    *,
    cache_dir: str | os.PathLike | None = None,
    recipes: Mapping[str, Recipe] | None = None,
    seed: int = 0,
    progress: bool = True,
    store: FeatureStore | None = None,
) -> dict[str, ProbeResult]:
    """Extract ``upstream``'s features once for every task's audio (or use ``store``, from
    :func:`task_store`), then train each probe with probe seed ``seed``."""
    store = store or task_store(upstream, data, cache_dir, progress=progress)
    recipes = recipes or {}
    return {
        name: train_probe(
            TASKS[name], d, store, recipe=recipes.get(name), seed=seed, progress=progress
        )
        for name, d in data.items()
    }


__all__ = [
    "CLASSIFY",
    "DATASETS",
    "SEQUENCE",
    "TASKS",
    "Example",
    "FeatureStore",
    "ProbeResult",
    "ProbeTask",
    "Recipe",
    "TaskData",
    "WeightedSum",
    "build_store",
    "parse_tasks",
    "run_probes",
    "task_store",
    "train_probe",
]
