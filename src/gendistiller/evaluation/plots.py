"""The report's figures, drawn with matplotlib's object API (no pyplot, no global backend)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gendistiller import io

DPI = 120


def similarity_heatmap(
    similarity: Sequence[Sequence[float]],
    path: str | os.PathLike,
    *,
    title: str,
    metric: str,
    student_labels: Sequence[str],
    state_targets: Sequence[int | None] = (),
) -> None:
    """Student states (rows) x teacher states (columns); boxed cells are the teacher
    layers that student states were trained to generate."""
    data = np.asarray(similarity, dtype=float)
    rows, cols = data.shape
    fig = Figure(figsize=(max(5.0, 0.55 * cols + 2.5), max(2.5, 0.5 * rows + 1.6)), dpi=DPI)
    ax = fig.add_subplot()
    image = ax.imshow(
        data, vmin=min(0.0, float(data.min())), vmax=1.0, cmap="viridis", aspect="auto"
    )
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_xticks(range(cols), [str(c) for c in range(cols)])
    ax.set_yticks(range(rows), list(student_labels))
    ax.set_xlabel("teacher hidden state (0 = input to block 1)")
    ax.set_ylabel("student hidden state")
    ax.set_title(title, fontsize=10)
    if rows * cols <= 400:
        for r in range(rows):
            for c in range(cols):
                ax.text(c, r, f"{data[r, c]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if data[r, c] > 0.6 else "white")  # fmt: skip
    for r, layer in enumerate(state_targets):
        if layer is not None and 0 <= layer < cols:
            ax.add_patch(
                Rectangle((layer - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
            )
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)


def layer_weights(
    weights: Mapping[str, Mapping[str, Sequence[float]]], path: str | os.PathLike
) -> None:
    """One panel per model: tasks (rows) x hidden states (columns), the learnt softmax weights."""
    models = [m for m in weights if weights[m]]
    if not models:
        return
    widest = max(len(w) for m in models for w in weights[m].values())
    fig = Figure(figsize=(max(6.0, 0.5 * widest + 2.5), 1.2 + 1.6 * len(models)), dpi=DPI)
    axes = fig.subplots(len(models), 1, squeeze=False)[:, 0]
    for ax, model in zip(axes, models, strict=True):
        tasks = list(weights[model])
        data = np.full((len(tasks), widest), np.nan)
        for i, task in enumerate(tasks):
            data[i, : len(weights[model][task])] = weights[model][task]
        image = ax.imshow(
            data, vmin=0.0, vmax=max(0.5, float(np.nanmax(data))), cmap="magma", aspect="auto"
        )
        ax.set_yticks(range(len(tasks)), [t.upper() for t in tasks])
        ax.set_xticks(range(widest), [str(i) for i in range(widest)])
        ax.set_title(f"{model}: weighted-sum weights per task", fontsize=10)
        for (i, j), value in np.ndenumerate(data):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if value > 0.3 else "white")  # fmt: skip
        fig.colorbar(image, ax=ax, fraction=0.03)
    axes[-1].set_xlabel("hidden state")
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)


def efficiency_chart(bench: Mapping, path: str | os.PathLike) -> None:
    """Bars per model: parameters, MACs per second of audio, 10 s CPU latency, peak memory."""
    models = bench["models"]
    names = list(models)
    longest = f"{bench.get('seconds', [10])[-1]:g}"
    panels = [
        ("parameters (M)", [models[n]["parameters"] / 1e6 for n in names]),
        ("GMACs per second of audio", [models[n]["macs_per_second"] / 1e9 for n in names]),
        (
            f"latency, {longest} s input (ms, {bench['threads']} threads)",
            [models[n]["latency_ms"][longest] for n in names],
        ),
    ]
    if all(models[n].get("peak_rss_delta_mib") is not None for n in names):
        panels.append(
            (
                f"peak memory added, {longest} s (MiB)",
                [models[n]["peak_rss_delta_mib"] for n in names],
            )
        )
    fig = Figure(figsize=(4.0 * len(panels), 0.45 * len(names) + 1.8), dpi=DPI)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    colors = ["#4c72b0" if models[n]["kind"] == "teacher" else "#dd8452" for n in names]
    for ax, (label, values) in zip(axes, panels, strict=True):
        bars = ax.barh(range(len(names)), values, color=colors)
        ax.bar_label(bars, fmt="%.4g", fontsize=8, padding=2)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_title(label, fontsize=10)
        ax.margins(x=0.25)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)
