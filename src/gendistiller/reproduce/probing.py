"""The probes of a reproduction: every task's data and recipe at the run's scale, the
probe results a job keeps, and which of a written result's tasks are stale (probed with
another recipe than the scale's), so that a resumed run probes only those again."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from gendistiller.reproduce.context import Context, corpus


def task_data(ctx: Context, tasks: tuple[str, ...] | None = None) -> tuple[dict, dict]:
    """Every task's examples (the same for every model) and its recipe at this scale
    (``tasks``: a subset of the scale's)."""
    from gendistiller.evaluation.probes import TASKS

    found = corpus(ctx)
    data = {
        t: TASKS[t].from_corpus(found).subset(*ctx.scale.probe_examples).check()
        for t in (ctx.scale.tasks if tasks is None else tasks)
    }
    return data, recipes(ctx, tuple(data))


def probes(ctx: Context, upstream, cache: Path | None = None,
           tasks: tuple[str, ...] | None = None) -> dict[str, Any]:  # fmt: skip
    from gendistiller.evaluation.probes import run_probes

    data, recipes = task_data(ctx, tasks)
    results = run_probes(upstream, data, cache_dir=cache, recipes=recipes,
                         seed=ctx.scale.probe_seed, progress=False)  # fmt: skip
    keep = (
        "metric",
        "lower_is_better",
        "test",
        "dev",
        "chance",
        "layer_weights",
        "recipe",
        "items",
    )
    return {t: {k: r.as_dict()[k] for k in keep} for t, r in results.items()}


def recipes(ctx: Context, tasks: tuple[str, ...]) -> dict[str, Any]:
    """Each task's probe recipe at this scale: its own, with the scale's overrides."""
    from gendistiller.evaluation.probes import TASKS

    return {t: TASKS[t].recipe.with_overrides(**ctx.scale.recipe_overrides(t)) for t in tasks}


def recipe_dicts(ctx: Context, tasks: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each task's probe recipe at this scale, as a probe result records it."""
    return {t: asdict(r) for t, r in recipes(ctx, tasks).items()}


def stale_tasks(ctx: Context, result: dict, tasks: tuple[str, ...]) -> tuple[str, ...]:
    """The tasks of ``tasks`` that ``result`` (a student's or reference's) has not probed
    with this scale's recipe: missing, or trained with another (e.g. fewer heads)."""
    wanted, probed = recipe_dicts(ctx, tasks), result.get("probes", {})
    return tuple(t for t in tasks if probed.get(t, {}).get("recipe") != wanted[t])


def probe_stale(ctx: Context, upstream, previous: dict | None, tasks: tuple[str, ...],
                cache: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """``previous``'s probe results for the tasks still fresh, the others probed now."""
    stale = stale_tasks(ctx, previous or {}, tasks)
    found = probes(ctx, upstream, cache=cache, tasks=stale) if stale else {}
    return {t: found[t] if t in found else previous["probes"][t] for t in tasks}
