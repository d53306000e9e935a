"""What a reproduction's work cost: the minutes each unit spent on its worker (with the
run's ``--threads``), as the unit recorded them: a student's distillation and its latest evaluation
(``OUT/jobs/*.json``, ``seconds``), the teacher's and its twin's probes, the controls.
Their sum over the workers is the least wall time a run from scratch of the same
variants needs, whatever the invocations that produced this one were; a resumed run's
wall time (``OUT/wall_time.json``) also counts the work it redid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gendistiller.evaluation.markdown import table


def unit_costs(by_variant: Mapping[str, list[dict]], references: Mapping[str, Mapping | None],
               groups: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Per variant, its students and their minutes distilling and evaluating (a student
    probed again with a new recipe counts that probing, not the evaluation it replaced);
    per reference, its minutes (None where its file predates the record); per group of
    variants (``groups``), its students' minutes, if it has any in the run; the totals."""
    variants = {}
    for name, results in by_variant.items():
        seconds = [r.get("seconds", {}) for r in results]
        distill = sum(s.get("distill", 0.0) for s in seconds)
        evaluate = sum(s.get("reprobe", s.get("evaluate", 0.0)) for s in seconds)
        variants[name] = {"students": len(results), "distill": _minutes(distill),
                          "evaluate": _minutes(evaluate)}  # fmt: skip
    refs = {
        name: _minutes(found["seconds"]) if found and "seconds" in found else None
        for name, found in references.items()
    }
    total = sum(v["distill"] + v["evaluate"] for v in variants.values())
    in_run = {g: [n for n in names if n in variants] for g, names in (groups or {}).items()}
    return {
        "variants": variants,
        "groups": {
            g: round(sum(variants[n]["distill"] + variants[n]["evaluate"] for n in names), 1)
            for g, names in in_run.items()
            if names
        },
        "references": refs,
        "worker_minutes": round(total + sum(m for m in refs.values() if m is not None), 1),
        "complete": all(m is not None for m in refs.values()),
    }


def cost_section(r: Mapping[str, Any]) -> list[str]:
    """The markdown of :func:`unit_costs` in ``r["cost"]`` (``r["workers"]``,
    ``r["threads"]``: the last invocation's)."""
    cost, workers, threads = r.get("cost"), r.get("workers"), r.get("threads")
    if not cost:
        return []
    threads = f"{threads} torch thread{'s' * (threads != 1)}" if threads else "its torch threads"
    rows = []
    for name, v in cost["variants"].items():
        total = v["distill"] + v["evaluate"]
        rows.append(
            [
                name,
                str(v["students"]),
                f"{v['distill']:.1f}",
                f"{v['evaluate']:.1f}",
                f"{total:.1f}",
            ]
        )
    for name, minutes in cost["references"].items():
        shown = "not recorded" if minutes is None else f"{minutes:.1f}"
        rows.append([name, "–", "–", shown, shown])
    summed = f"**{cost['worker_minutes']:.1f}**"
    if not cost["complete"]:
        summed += " (the units not recorded left out)"
    rows.append(["**all**", "", "", "", summed])
    lines = [
        "## Cost of each unit of work",
        "",
        f"Minutes on one worker ({threads}), as each unit recorded them: a student's "
        "distillation and its latest evaluation (a student probed again with a new recipe "
        "counts that probing; its fidelity was kept). Their sum over the workers is the "
        "least wall time a run from scratch of these variants needs.",
        "",
        table(["unit", "students", "distill (min)", "evaluate (min)", "total (min)"], rows),
    ]
    if workers:
        least = cost["worker_minutes"] / workers
        lines += [
            "",
            f"Over {workers} worker(s): at least {least:.1f} min of wall time from scratch.",
        ]
    if cost.get("groups"):
        over = f" over {workers}" if workers else ""
        per = ", ".join(
            f"`{g}` {m:.1f}" + (f" (at least {m / workers:.1f} min{over})" if workers else "")
            for g, m in cost["groups"].items()
        )
        lines += [
            "",
            "Per group of `--variants`, its students' minutes (a group includes the variants "
            f"it is compared with, so groups overlap; the units besides students are shared): {per}.",
        ]
    return [*lines, ""]


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)
