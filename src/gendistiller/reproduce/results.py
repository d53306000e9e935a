"""From per-seed scores to the published comparison: mean ± spread per student, each
claim of the paper judged (see :mod:`gendistiller.reproduce.claims` for the tie rule), a
markdown table and the plots."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gendistiller.evaluation.report import table, write_json
from gendistiller.reproduce import plots
from gendistiller.reproduce.claims import CLAIMS, FIDELITY, Stat, judge, stat
from gendistiller.reproduce.plan import BASELINE, DEFAULT, VARIANTS


def load_scores(out: Path) -> tuple[dict[str, list[dict]], list[dict], dict | None]:
    """Per-variant job results, teacher results and the efficiency benchmark."""
    by_variant: dict[str, list[dict]] = {}
    for path in sorted((out / "jobs").glob("*.json")):
        result = json.loads(path.read_text())
        by_variant.setdefault(result["variant"], []).append(result)
    teacher = [json.loads(p.read_text()) for p in sorted(out.glob("teacher-seed*.json"))]
    eff = out / "efficiency.json"
    return by_variant, teacher, json.loads(eff.read_text()) if eff.is_file() else None


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


def cost_claims(eff: Mapping | None, by_variant: Mapping[str, list[dict]]) -> list[dict]:
    claims = []
    if BASELINE in by_variant and DEFAULT in by_variant:
        gen = by_variant[DEFAULT][0]["parameters"]
        base_heads = by_variant[BASELINE][0]["parameters_with_heads"]
        base = by_variant[BASELINE][0]["parameters"]
        ratio = gen / base_heads
        claims.append({
            "claim": "about 33% fewer parameters than the baseline (with its prediction heads)",
            "measured": f"{gen:,} vs {base_heads:,} = {ratio:.2f}x ({base:,} without heads: {gen / base:.2f}x)",
            "verdict": "held" if ratio <= 0.72 else "not held",
        })  # fmt: skip
    if eff and BASELINE in eff["models"] and DEFAULT in eff["models"]:
        ratio = _ms_per_s(eff, DEFAULT) / _ms_per_s(eff, BASELINE)
        claims.append({
            "claim": "similar time to the baseline (within 15%)",
            "measured": f"{_ms_per_s(eff, DEFAULT):.1f} vs {_ms_per_s(eff, BASELINE):.1f} ms per second of audio = {ratio:.2f}x",
            "verdict": "held" if ratio <= 1.15 else "not held",
        })  # fmt: skip
    return claims


def _ms_per_s(eff: Mapping, name: str) -> float:
    model = eff["models"][name]
    seconds = max(model["latency_ms"], key=float)
    return model["latency_ms"][seconds] / float(seconds)


def build(out: Path, tasks: Sequence[str], meta: Mapping[str, Any]) -> dict[str, Any]:
    by_variant, teacher, eff = load_scores(out)
    stats = {v: summarise(rs, tasks) for v, rs in by_variant.items()}
    teacher_stats = summarise(teacher, tasks) if teacher else {}
    claims = []
    for c in CLAIMS:
        if c.a in stats and c.b in stats:
            verdict = judge(c.text, stats[c.a], stats[c.b], c.metric_names(tasks), c.kind)
            claims.append({"a": c.a, "b": c.b, **verdict})
    return {
        **meta,
        "tasks": list(tasks),
        "seeds": {v: sorted(r["seed"] for r in rs) for v, rs in by_variant.items()},
        "stats": {v: {k: vars(s) for k, s in st.items()} for v, st in stats.items()},
        "teacher": {k: vars(s) for k, s in teacher_stats.items()},
        "parameters": {v: rs[0]["parameters"] for v, rs in by_variant.items()},
        "parameters_with_heads": {
            v: rs[0]["parameters_with_heads"] for v, rs in by_variant.items()
        },
        "teacher_parameters": teacher[0]["parameters"] if teacher else None,
        "efficiency": eff,
        "claims": claims,
        "cost_claims": cost_claims(eff, by_variant),
    }


def write(results: Mapping[str, Any], folder: Path) -> None:
    """results.json, results.md and the plots into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "results.json", results)
    plots.scores(results, folder / "scores.png")
    plots.fidelity_by_layer(results, folder / "fidelity_by_layer.png")
    (folder / "results.md").write_text(markdown(results), encoding="utf-8")


def markdown(r: Mapping[str, Any]) -> str:
    tasks = r["tasks"]
    metric_names = {t: _metric_label(r, t) for t in tasks}
    header = ["model", "params (M)", "trained params (M)", "size vs teacher", "ms / s audio"]
    header += [metric_names[t] for t in tasks] + ["fidelity (cos) ↑"]
    rows = []
    if r["teacher"]:
        rows.append(_row("teacher", r, r["teacher"], tasks, teacher=True))
    order = [v.name for v in VARIANTS if v.name in r["stats"]]
    rows += [_row(v, r, r["stats"][v], tasks) for v in order]
    lines = [
        f"# Reproduction of the paper's comparison (scale `{r['scale']}`)",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {r['machine']}  ",
        f"Wall time: {r['wall_minutes']} min, summed over {r.get('invocations', 1)} invocation(s) "
        "(a rerun resumes and skips what is finished)  ",
        f"Teacher: `{r['teacher_spec']}`; seeds: {_seeds(r['seeds'])}; "
        "scores are mean ± standard deviation over seeds.",
        "",
        "Probes run on the offline corpus's held-out speakers with the fixed recipes of "
        "docs/evaluation.md, shortened as listed in docs/reproduce.md, so they compare "
        "students with each other, not with the SUPERB leaderboard.",
        "",
        table(header, rows),
        "",
        "## Claims",
        "",
        "A wins a metric only when the two means differ by more than the sum of their "
        "standard deviations; otherwise the metric is a tie.",
        "",
    ]
    for c in r["cost_claims"]:
        lines.append(f"- **{c['claim']}**: {c['verdict']} ({c['measured']})")
    for c in r["claims"]:
        detail = ", ".join(f"{_short(m)} {o}" for m, o in c["outcomes"].items())
        lines.append(f"- **{c['claim']}** ({c['a']} vs {c['b']}): {c['verdict']} — {detail}")
    lines += [
        "",
        "## Plots",
        "",
        "![scores](scores.png)",
        "",
        "![fidelity by layer](fidelity_by_layer.png)",
        "",
        "## Variants",
        "",
    ]
    lines += [f"- `{v.name}`: {v.description}" for v in VARIANTS if v.name in r["stats"]]
    return "\n".join(lines) + "\n"


def _row(
    name: str, r: Mapping, stats: Mapping, tasks: Sequence[str], teacher: bool = False
) -> list[str]:
    params = r["teacher_parameters"] if teacher else r["parameters"][name]
    trained = params if teacher else r["parameters_with_heads"][name]
    eff = (r.get("efficiency") or {}).get("models", {})
    timing = f"{_ms_per_s(r['efficiency'], name):.1f}" if name in eff else "–"
    size = f"{params / r['teacher_parameters']:.0%}" if r["teacher_parameters"] else "–"
    cells = [name, f"{params / 1e6:.2f}", f"{trained / 1e6:.2f}", size, timing]
    cells += [_cell(stats.get(t)) for t in tasks]
    cells.append("–" if teacher else _cell(stats.get(FIDELITY), digits=3))
    return cells


def _cell(s: Mapping | None, digits: int = 1) -> str:
    if s is None:
        return "–"
    return f"{s['mean']:.{digits}f} ± {s['sd']:.{digits}f}"


def _metric_label(r: Mapping, task: str) -> str:
    for st in (r["teacher"], *r["stats"].values()):
        if task in st:
            arrow = "↓" if st[task]["lower_is_better"] else "↑"
            return f"{task.upper()} {'error' if st[task]['lower_is_better'] else 'acc'} % {arrow}"
    return task.upper()


def _short(metric: str) -> str:
    return metric.upper() if metric != FIDELITY else "fidelity"


def _seeds(seeds: Mapping[str, list[int]]) -> str:
    distinct = {tuple(s) for s in seeds.values()}
    if len(distinct) == 1:
        return f"{', '.join(map(str, distinct.pop()))} for every student"
    return "; ".join(f"{v}: {', '.join(map(str, s))}" for v, s in seeds.items())
