"""One folder per evaluation: ``report.json`` (everything), ``report.md`` (side by side
tables that link the figures) and the PNG figures."""

from __future__ import annotations

import os
from collections.abc import Mapping

from gendistiller import io
from gendistiller.evaluation.markdown import table
from gendistiller.evaluation.probes import TASKS
from gendistiller.evaluation.report_stats import (
    comparison_section,
    controls_section,
    fidelity_comparison_section,
)
from gendistiller.measure.targets import target_lines

__all__ = [
    "efficiency_table",
    "layer_table",
    "probe_table",
    "table",
    "write_json",
    "write_markdown",
]


def write_json(path: str | os.PathLike, data: Mapping) -> None:
    """Atomic JSON write (a killed run never leaves half a report)."""
    io.write_json(path, data, indent=1)


def efficiency_table(bench: Mapping) -> str:
    models = bench["models"]
    reference = bench.get("reference")
    keys = [f"{s:g}" for s in bench.get("seconds", (1, 10))]
    rows = []
    for name, m in models.items():
        ratio = m.get("ratios", {}).get(f"latency_{keys[-1]}s")
        rows.append(
            [
                f"{name} ({m['kind']})",
                f"{m['parameters'] / 1e6:.2f}",
                f"{m['macs_per_second'] / 1e9:.2f} ({m['macs_by_op']['convolution'] / 1e9 / float(keys[-1]):.2f})",
                *(f"{m['latency_ms'][k]:.0f}" for k in keys),
                f"{m['rtf']:.3f}",
                "" if ratio is None else f"{ratio:.2f}",
                ""
                if m.get("peak_rss_mib") is None
                else f"{m['peak_rss_mib']:.0f} (+{m['peak_rss_delta_mib']:.0f})",
            ]
        )
    header = [
        "model", "params (M)", "GMACs / s audio (conv)", *(f"latency {k} s (ms)" for k in keys),
        f"RTF ({keys[-1]} s)", f"time vs {reference or 'reference'} ({keys[-1]} s)", "peak RSS MiB (+ model)",
    ]  # fmt: skip
    text = table(header, rows)
    lines = target_lines(bench.get("targets") or [])
    if lines:
        text += "\n\nTargets:\n" + "\n".join(f"- {line}" for line in lines)
    m = bench["machine"]
    text += (
        f"\n\nMachine: {m['cpu']}, {m['cores']} cores, {bench['threads']} torch threads, torch {m['torch']}; "
        f"median of {bench['repeats']} runs per input"
        f"{_settled(bench.get('settle', 0))}, batch 1, float32; load average "
        f"{m['load_average_before'][0]:.1f} before, {m.get('load_average_after', ['?'])[0]} after."
    )
    return text


def probe_table(probes: Mapping[str, Mapping[str, Mapping]], tasks: list[str]) -> str:
    header = ["model"] + [
        f"{t.upper()} {TASKS[t].metric} {'↓' if TASKS[t].lower_is_better else '↑'}" for t in tasks
    ]
    rows = []
    for model, results in probes.items():
        rows.append([model] + [f"{results[t]['test']:.2f}" if t in results else "" for t in tasks])
    first = next(iter(probes.values()), {})
    rows.append(
        ["chance (majority / empty)"]
        + [f"{first[t]['chance']:.2f}" if t in first else "" for t in tasks]
    )
    return table(header, rows)


def layer_table(probes: Mapping[str, Mapping[str, Mapping]], tasks: list[str]) -> str:
    """The state each task leans on most, and its weight."""
    rows = []
    for model, results in probes.items():
        cells = []
        for t in tasks:
            w = results.get(t, {}).get("layer_weights")
            if w:
                top = max(range(len(w)), key=w.__getitem__)
                cells.append(f"{top} ({w[top]:.2f})")
            else:
                cells.append("")
        rows.append([model, *cells])
    return table(["model", *[t.upper() for t in tasks]], rows)


def write_markdown(path: str | os.PathLike, report: Mapping) -> None:
    out = ["# GenDistiller evaluation report", ""]
    out += [f"Created {report['created']} with gendistiller {report['version']}.", ""]
    if report.get("command"):
        out += ["```", report["command"], "```", ""]
    out += ["## Models", ""]
    rows = [
        [n, f"`{m['spec']}`", m["kind"], m["architecture"], f"{m['parameters'] / 1e6:.2f}",
         f"{m['hidden_states']} x {m['hidden_size']}"]
        for n, m in report["models"].items()
    ]  # fmt: skip
    out += [
        table(
            ["name", "spec", "kind", "architecture", "params (M)", "states x width"], rows, "lllllr"
        ),
        "",
    ]
    for note in report.get("notes", []):
        out += [f"- {note}"]
    if report.get("notes"):
        out.append("")
    if report.get("fidelity"):
        out += _fidelity_section(report)
    if report.get("probes"):
        tasks = report["tasks"]
        out += ["## Probes (SUPERB-style, frozen upstream, fixed recipes)", ""]
        out += [probe_table(report["probes"], tasks), ""]
        if len(report["probes"]) > 1:
            out += comparison_section(report)
        out += ["Test-set scores of the head that was best on dev. Data:", ""]
        for task, info in report["data"].items():
            sizes = ", ".join(f"{k} {v}" for k, v in info["sizes"].items())
            out += [f"- {task.upper()} ({TASKS[task].title}): {info['source']}; {sizes}"]
        out += [
            "",
            "Recipes: docs/evaluation.md. Most-used hidden state per task (its weight):",
            "",
        ]
        out += [
            layer_table(report["probes"], tasks),
            "",
            f"![layer weights]({report['plots']['layer_weights']})",
            "",
        ]
    if report.get("controls"):
        out += controls_section(report["controls"])
    if report.get("efficiency"):
        out += ["## Efficiency", "", efficiency_table(report["efficiency"]), ""]
        out += [f"![efficiency]({report['plots']['efficiency']})", ""]
    io.write_text(path, "\n".join(out))


def _fidelity_section(report: Mapping) -> list[str]:
    first = next(iter(report["fidelity"].values()))
    out = [
        f"## Fidelity to the teacher ({report['teacher']})",
        "",
        f"Free-running student predictions against the teacher's layers on {first['utterances']} held-out "
        f"utterances ({first['frames']} frames): mean L1 distance and mean cosine similarity per target layer.",
        "",
    ]
    out += fidelity_comparison_section(report.get("fidelity_comparisons") or {}, report["fidelity"])
    for student, fid in report["fidelity"].items():
        rows = [
            [str(layer), f"{l1:.4f}", f"{cos:.4f}"]
            for layer, l1, cos in zip(fid["target_layers"], fid["l1"], fid["cosine"], strict=True)
        ]
        out += [f"### {student}", "", table(["teacher layer", "L1 ↓", "cosine ↑"], rows), ""]
        out += [
            f"Student x teacher hidden-state similarity ({fid['similarity_metric'].upper()}, "
            f"{fid['similarity_frames']} frames; red boxes: the layers each state is trained to generate):",
            "",
            f"![{student} similarity]({report['plots']['fidelity'][student]})",
            "",
        ]
    return out


def _settled(settle: int) -> str:
    return f" (each after {settle} untimed call(s) of its own)" if settle else ""
