"""The performance targets, written once: the benchmark checks them and the docs show them.

A target names the models it is stated for by the facts the benchmark records about
each model (``kind``, ``model_type``, ``frontend``, ``hidden_size``, ``hidden_states``,
``spec``), so it
is checked only when such models are in the run, and only against figures of that run
(the same thread count, the longest input). docs/benchmarks.md shows
:func:`targets_table` verbatim (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The paper's students (the waveform CNN front-end) at WavLM Base+ width.
GENDISTILLER_768 = {"model_type": "gendistiller", "frontend": "conv", "hidden_size": 768}
DISTILHUBERT_768 = {"model_type": "gendistiller_distilhubert", "frontend": "conv", "hidden_size": 768}  # fmt: skip
TEACHER_BASE = {"kind": "teacher", "hidden_size": 768, "hidden_states": 13}  # WavLM Base+ shape
FAST = {"spec": "gendistiller-fast"}  # the preset (random weights: speed does not depend on them)

LATENCY, COSINE, FILE = "latency_ratio", "min_cosine", "file_ratio"


@dataclass(frozen=True)
class Target:
    key: str
    model: Mapping[str, Any]  # the facts of the model the target is stated for
    runtime: str
    measure: str  # LATENCY: time over versus's; COSINE: vs PyTorch fp32; FILE: over ONNX fp32
    versus: Mapping[str, Any] | None = None  # None: the same model
    versus_runtime: str = "pytorch"
    max: float | None = None
    min: float | None = None
    moonshot: float | None = None
    source: str = ""
    label: str = field(default="", compare=False)


TARGETS: tuple[Target, ...] = (
    Target("gendistiller_vs_distilhubert", GENDISTILLER_768, "pytorch", LATENCY,
           DISTILHUBERT_768, max=1.15, source="paper: similar time to DistilHuBERT",
           label="GenDistiller time / DistilHuBERT time, PyTorch fp32"),
    Target("gendistiller_vs_teacher", GENDISTILLER_768, "pytorch", LATENCY, TEACHER_BASE,
           max=0.40, source="issue: efficiency", label="GenDistiller time / teacher time, PyTorch fp32"),
    Target("gendistiller_int8_speed", GENDISTILLER_768, "onnx-int8", LATENCY, GENDISTILLER_768,
           max=0.50, source="issue: export", label="GenDistiller ONNX int8 time / its PyTorch fp32 time"),
    Target("gendistiller_int8_cosine", GENDISTILLER_768, "onnx-int8", COSINE, min=0.99,
           source="issue: export", label="GenDistiller ONNX int8, min per-layer cosine vs PyTorch fp32"),
    Target("gendistiller_int8_file", GENDISTILLER_768, "onnx-int8", FILE, max=1 / 3,
           source="issue: export", label="GenDistiller ONNX int8 file / ONNX fp32 file"),
    Target("fast_vs_teacher", FAST, "pytorch", LATENCY, TEACHER_BASE, max=0.15, moonshot=0.10,
           source="issue: fast students", label="gendistiller-fast time / teacher time, PyTorch fp32"),
    Target("fast_int8_vs_teacher", FAST, "onnx-int8", LATENCY, TEACHER_BASE, max=0.07,
           moonshot=0.05, source="issue: fast students",
           label="gendistiller-fast ONNX int8 time / teacher PyTorch fp32 time"),
)  # fmt: skip


def _find(models: Mapping[str, Mapping], facts: Mapping[str, Any]) -> str | None:
    return next(
        (n for n, m in models.items() if all(m.get(k) == v for k, v in facts.items())), None
    )


def _value(t: Target, name: str, other: str | None, row, threads: int) -> float | None:
    mine = row(name, t.runtime, threads)
    if mine is None:
        return None
    if t.measure == COSINE:
        return mine.get("min_cosine")
    if t.measure == FILE:
        fp32 = row(name, "onnx", threads)
        return (
            None if fp32 is None or not fp32.get("file_mb") else mine["file_mb"] / fp32["file_mb"]
        )
    theirs = row(other, t.versus_runtime, threads) if other is not None else None
    return None if theirs is None else mine["median_ms"] / theirs["median_ms"]


def check_targets(
    models: Mapping[str, Mapping],
    rows: Sequence[Mapping],
    targets: Sequence[Target] = TARGETS,
) -> list[dict]:
    """Every target whose models are in the run, at every thread count of the run.

    ``models``: name -> facts; ``rows``: the benchmark's timing rows (``model``,
    ``runtime``, ``threads``, ``seconds``, ``median_ms``, optional ``min_cosine`` and
    ``file_mb``); latencies are taken at the longest input."""
    if not rows:
        return []
    longest = max(r["seconds"] for r in rows)
    index = {(r["model"], r["runtime"], r["threads"]): r for r in rows if r["seconds"] == longest}

    def row(name, runtime, threads):
        return index.get((name, runtime, threads))

    out = []
    for t in targets:
        name = _find(models, t.model)
        other = name if t.versus is None else _find(models, t.versus)
        if name is None or (t.measure == LATENCY and other is None):
            continue
        for threads in sorted({r["threads"] for r in rows}):
            value = _value(t, name, other, row, threads)
            if value is None:
                continue
            met = (t.max is None or value <= t.max) and (t.min is None or value >= t.min)
            out.append({
                "target": t.key, "threads": threads, "seconds": longest,
                "models": [name, other] if t.measure == LATENCY else [name],
                "runtimes": [t.runtime, t.versus_runtime] if t.measure == LATENCY else [t.runtime],
                "value": round(value, 4), "max": t.max, "min": t.min, "moonshot": t.moonshot,
                "met": met,
            })  # fmt: skip
    return out


def _bound(t: Target) -> str:
    if t.max is not None:
        return f"at most {t.max:.2f}" if t.max != 1 / 3 else "at most 1/3"
    return f"at least {t.min:.2f}"


def targets_table(targets: Sequence[Target] = TARGETS) -> str:
    """The targets as a markdown table (what docs/benchmarks.md shows)."""
    lines = ["| target | measure | bound | moonshot | stated by |", "|---|---|---|---|---|"]
    for t in targets:
        moon = "" if t.moonshot is None else f"{t.moonshot:.2f}"
        lines.append(f"| `{t.key}` | {t.label} | {_bound(t)} | {moon} | {t.source} |")
    return "\n".join(lines)


def target_lines(results: Sequence[Mapping]) -> list[str]:
    """One line per checked target, for the benchmark's printed report."""
    out = []
    for r in results:
        bound = f"<= {r['max']:.3g}" if r["max"] is not None else f">= {r['min']:.3g}"
        verdict = "met" if r["met"] else "NOT met"
        out.append(
            f"{r['target']} ({r['threads']} threads, {', '.join(r['models'])}): "
            f"{r['value']:.3f} (target {bound}): {verdict}"
        )
    return out
