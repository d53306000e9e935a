"""From per-seed, per-item scores to the published comparison: mean ± spread per student,
every student's paired difference to the baseline, each claim judged on those intervals
(:mod:`gendistiller.reproduce.claims`), the task check, the controls, the MDEs and the
convergence of the headline runs; then the markdown (:mod:`.tables`) and the plots."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gendistiller import io
from gendistiller.evaluation.report import write_json
from gendistiller.evaluation.statistics import compare
from gendistiller.reproduce import plots, tables
from gendistiller.reproduce.claims import (
    CLAIMS,
    COST_CLAIMS,
    FIDELITY,
    LOSS,
    PARAMETERS,
    WIN,
    Stat,
    judge,
    outcome,
    stat,
)
from gendistiller.reproduce.context import CACHES, JOBS, RUNS
from gendistiller.reproduce.costs import unit_costs
from gendistiller.reproduce.jobs import CACHE_SECONDS
from gendistiller.reproduce.tables import ms_per_s
from gendistiller.reproduce.variants import (
    BASELINE,
    BASELINE_HEADS,
    BRIEF,
    DEFAULT,
    EXPOSED,
    FULL,
    GROUPS,
)

CONVERGED_BELOW = 0.02  # the last fifth of training improves the loss by less than this


def load_scores(out: Path) -> dict[str, Any]:
    """Per-variant job results and the reference files of a reproduction folder."""
    by_variant: dict[str, list[dict]] = {}
    for path in sorted((out / JOBS).glob("*.json")):
        result = json.loads(path.read_text())
        by_variant.setdefault(result["variant"], []).append(result)
    files = {"teacher": "teacher.json", "twin": "teacher-random.json",
             "controls": "controls.json", "efficiency": "efficiency.json"}  # fmt: skip
    loaded: dict[str, Any] = {"jobs": by_variant}
    for key, name in files.items():
        loaded[key] = io.read_json(out / name)
    caches = out / CACHES / CACHE_SECONDS
    loaded["caches"] = (
        {"seconds": sum(json.loads(caches.read_text()).values())} if caches.is_file() else None
    )
    return loaded


def summarise(results: Sequence[dict], tasks: Sequence[str]) -> dict[str, Stat]:
    """Mean ± sd over seeds of every probe task's test score, fidelity (mean and per layer)."""
    stats: dict[str, Stat] = {}
    for task in tasks:
        scores = [r["probes"][task] for r in results if task in r.get("probes", {})]
        if scores:
            stats[task] = stat([s["test"] for s in scores], scores[0]["lower_is_better"])
    fids = [r["fidelity"] for r in results if "fidelity" in r]
    if fids:
        stats[FIDELITY] = stat([statistics.fmean(f["cosine"]) for f in fids])
        stats["l1"] = stat([statistics.fmean(f["l1"]) for f in fids], lower_is_better=True)
        for i, layer in enumerate(fids[0]["target_layers"]):
            stats[f"cosine@{layer}"] = stat([f["cosine"][i] for f in fids])
    return stats


def metric_items(result: Mapping, metric: str) -> tuple[dict, bool] | None:
    """One result's per-item scores of ``metric`` (``{"ids", "num", "den"}``) and whether
    lower is better. Fidelity items are each utterance's cosine weighted by its frames (the
    mean over the target layers, or ``cosine@L`` for layer L, as
    :func:`~gendistiller.evaluation.statistics.compare_fidelity` scores them), so their
    differences read in cosine x 100."""
    probe = result.get("probes", {}).get(metric)
    if probe is not None:
        return probe["items"], bool(probe["lower_is_better"])
    fid = result.get("fidelity")
    if not fid or not (metric == FIDELITY or metric.startswith("cosine@")):
        return None
    items = fid["items"]
    if metric == FIDELITY:
        cosines = [statistics.fmean(row) for row in items["cosine"]]
    else:
        column = list(items["layers"]).index(int(metric.split("@")[1]))
        cosines = [row[column] for row in items["cosine"]]
    frames = [float(f) for f in items["frames"]]
    num = [c * f for c, f in zip(cosines, frames, strict=True)]
    return {"ids": items["ids"], "num": num, "den": frames}, False


def difference(a: Sequence[Mapping], b: Sequence[Mapping], metric: str) -> dict | None:
    """A minus B on ``metric``, paired over test items, seeds resampled (None if either
    side lacks it)."""
    got_a = [metric_items(r, metric) for r in a]
    got_b = [metric_items(r, metric) for r in b]
    if not got_a or not got_b or any(g is None for g in (*got_a, *got_b)):
        return None
    lower = got_a[0][1]  # type: ignore[index]
    diff = compare([g[0] for g in got_a], [g[0] for g in got_b], lower_is_better=lower).to_dict()  # type: ignore[index]
    return {**diff, "outcome": outcome(diff, lower)}


def _differences(a: Sequence[Mapping], b: Sequence[Mapping], metrics: Sequence[str]) -> dict:
    found = {m: difference(a, b, m) for m in metrics}
    return {m: d for m, d in found.items() if d is not None}


def task_check(teacher: Mapping | None, brief: Sequence[Mapping], twin: Mapping | None,
               tasks: Sequence[str]) -> dict[str, dict]:  # fmt: skip
    """Does each task measure what distillation transfers? The teacher must score at least
    as well as a briefly distilled student of itself and significantly better than its
    random-weight twin."""
    if teacher is None:
        return {}
    checks = {}
    for task in tasks:
        vs_brief = difference([teacher], brief, task) if brief else None
        vs_twin = difference([teacher], [twin], task) if twin else None
        checks[task] = {
            "vs_brief": vs_brief,
            "vs_twin": vs_twin,
            "informative": bool(
                vs_brief and vs_twin and vs_brief["outcome"] != LOSS and vs_twin["outcome"] == WIN
            ),  # fmt: skip
        }
    return checks


def convergence(out: Path, by_variant: Mapping[str, list[dict]]) -> dict[str, dict]:
    """Loss curve and tail improvement of every headline run."""
    from gendistiller.training.curves import LOSS_LOG, loss_curve, tail_improvement

    runs = {}
    for results in by_variant.values():
        for r in results:
            run_dir = out / RUNS / f"{r['variant']}-seed{r['seed']}"
            if r.get("budget") != FULL or not (run_dir / LOSS_LOG).is_file():
                continue
            steps, losses = loss_curve(run_dir)
            if not losses:
                continue
            tail = tail_improvement(losses)
            runs[f"{r['variant']}-seed{r['seed']}"] = {
                "variant": r["variant"], "seed": r["seed"], "steps": list(steps),
                "losses": [round(float(x), 5) for x in losses],
                "tail_improvement": round(tail, 4), "converged": tail < CONVERGED_BELOW,
            }  # fmt: skip
    return runs


def build(out: Path, tasks: Sequence[str], meta: Mapping[str, Any]) -> dict[str, Any]:
    loaded = load_scores(out)
    by_variant, teacher, twin = loaded["jobs"], loaded["teacher"], loaded["twin"]
    stats = {v: summarise(rs, tasks) for v, rs in by_variant.items()}
    layers = sorted({k for st in stats.values() for k in st if k.startswith("cosine@")},
                    key=lambda k: int(k.split("@")[1]))  # fmt: skip
    metrics = [*tasks, FIDELITY, *layers]
    base = by_variant.get(BASELINE, [])
    vs_baseline = {
        v: _differences(rs, base, metrics) for v, rs in by_variant.items() if v != BASELINE
    }
    if teacher and base:
        vs_baseline["teacher"] = _differences([teacher], base, tasks)
    claims = []
    for c in CLAIMS:
        if c.a in by_variant and c.b in by_variant:
            names = c.metric_names(tasks, layers)
            diffs = _differences(by_variant[c.a], by_variant[c.b], names)
            lower = {m: d["lower_is_better"] for m, d in diffs.items()}
            verdict = judge(c.text, diffs, lower, c.kind, c.wins)
            claims.append({"a": c.a, "b": c.b, "kind": c.kind, **verdict})
    return {
        **meta,
        "tasks": list(tasks),
        "metrics": metrics,
        "seeds": {v: sorted(r["seed"] for r in rs) for v, rs in by_variant.items()},
        "steps": {v: rs[0].get("steps") for v, rs in by_variant.items()},
        "budgets": {v: rs[0].get("budget") for v, rs in by_variant.items()},
        "stats": {v: {k: vars(s) for k, s in st.items()} for v, st in stats.items()},
        "teacher": {k: vars(s) for k, s in summarise([teacher], tasks).items()} if teacher else {},
        "twin": {k: vars(s) for k, s in summarise([twin], tasks).items()} if twin else {},
        "layer_weights": _layer_weights(teacher, by_variant, tasks),
        "vs_baseline": vs_baseline,
        "task_check": task_check(teacher, by_variant.get(BRIEF, []), twin, tasks),
        "controls": loaded["controls"],
        "convergence": convergence(out, by_variant),
        "parameters": {v: rs[0]["parameters"] for v, rs in by_variant.items()},
        "parameters_with_heads": {
            v: rs[0]["parameters_with_heads"] for v, rs in by_variant.items()
        },
        "teacher_parameters": teacher["parameters"] if teacher else None,
        "efficiency": loaded["efficiency"],
        "claims": claims,
        "cost_claims": cost_claims(loaded["efficiency"], by_variant),
        "cost": unit_costs(by_variant, _references(out, loaded), GROUPS),
    }


def _references(out: Path, loaded: Mapping[str, Any]) -> dict[str, Mapping | None]:
    """The units besides the students that the run has: its teacher caches and controls
    only where it built them."""
    refs = {"teacher caches": loaded["caches"]} if (out / CACHES).is_dir() else {}
    refs |= {"teacher": loaded["teacher"], "teacher-random": loaded["twin"]}
    return refs | ({"controls": loaded["controls"]} if loaded["controls"] else {})


def _layer_weights(teacher: Mapping | None, by_variant: Mapping[str, list[dict]],
                   tasks: Sequence[str]) -> dict[str, dict[str, list[float]]]:  # fmt: skip
    """The probes' learnt layer weights (first seed) of the teacher, the headline pair and
    the pair exposing other states."""
    models = {"teacher": teacher} if teacher else {}
    shown = (DEFAULT, BASELINE, EXPOSED, BASELINE_HEADS)
    models.update({v: by_variant[v][0] for v in shown if v in by_variant})
    return {
        name: {t: r["probes"][t]["layer_weights"] for t in tasks if t in r.get("probes", {})}
        for name, r in models.items()
    }


def cost_claims(eff: Mapping | None, by_variant: Mapping[str, list[dict]]) -> list[dict]:
    """Each of :data:`COST_CLAIMS` whose two students were measured."""
    claims = []
    for c in COST_CLAIMS:
        if c.quantity == PARAMETERS and c.a in by_variant and c.b in by_variant:
            a = by_variant[c.a][0]["parameters"]
            b_heads = by_variant[c.b][0]["parameters_with_heads"]
            b = by_variant[c.b][0]["parameters"]
            ratio = a / b_heads
            measured = f"{a:,} vs {b_heads:,} = {ratio:.2f}x"
            if b != b_heads:
                measured += f" ({b:,} without heads: {a / b:.2f}x)"
        elif c.quantity != PARAMETERS and eff and c.a in eff["models"] and c.b in eff["models"]:
            ratio = ms_per_s(eff, c.a) / ms_per_s(eff, c.b)
            measured = f"{ms_per_s(eff, c.a):.1f} vs {ms_per_s(eff, c.b):.1f} ms per second of audio = {ratio:.2f}x"
        else:
            continue
        claims.append({"claim": c.text, "a": c.a, "b": c.b, "measured": measured,
                       "verdict": "held" if ratio <= c.at_most else "not held"})  # fmt: skip
    return claims


def write(results: Mapping[str, Any], folder: Path) -> None:
    """results.json, results.md and the plots into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "results.json", results)
    plots.scores(results, folder / "scores.png")
    plots.fidelity_by_layer(results, folder / "fidelity_by_layer.png")
    if results.get("convergence"):
        plots.loss_curves(results, folder / "loss_curves.png")
    if results.get("layer_weights"):
        plots.layer_weights(results, folder / "layer_weights.png")
    io.write_text(folder / "results.md", tables.markdown(results))
