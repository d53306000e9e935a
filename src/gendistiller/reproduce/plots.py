"""The reproduction's figures: every score with its spread, free-running fidelity per
generated layer (where exposure bias shows), the headline runs' loss curves and the probes'
layer weights."""

from __future__ import annotations

import os
from collections.abc import Mapping

from matplotlib.figure import Figure

from gendistiller import io
from gendistiller.evaluation.plots import DPI
from gendistiller.reproduce.claims import FIDELITY
from gendistiller.reproduce.variants import BASELINE, DEFAULT, VARIANTS


def _order(results: Mapping) -> list[str]:
    return [v.name for v in VARIANTS if v.name in results["stats"]]


def scores(results: Mapping, path: str | os.PathLike) -> None:
    """One panel per metric: a bar per student (mean, sd error bar), teacher as a line."""
    metrics = [*results["tasks"], FIDELITY]
    names = _order(results)
    fig = Figure(figsize=(4.0 * len(metrics), 0.35 * len(names) + 1.8), dpi=DPI)
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        rows = [(i, results["stats"][n].get(metric)) for i, n in enumerate(names)]
        rows = [(i, s) for i, s in rows if s]
        colors = ["tab:orange" if names[i] == BASELINE else "tab:blue" if names[i] == DEFAULT else "tab:gray" for i, _ in rows]  # fmt: skip
        ax.barh([i for i, _ in rows], [s["mean"] for _, s in rows], xerr=[s["sd"] for _, s in rows],
                color=colors, capsize=3)  # fmt: skip
        teacher = results["teacher"].get(metric)
        if teacher:
            ax.axvline(teacher["mean"], color="black", linestyle="--", linewidth=1, label="teacher")
            ax.legend(loc="lower right", fontsize=7)
        lower = rows and rows[0][1]["lower_is_better"]
        ax.set_title(
            f"{metric.upper() if metric != FIDELITY else 'fidelity (cos)'} {'↓' if lower else '↑'}",
            fontsize=10,
        )
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)


def fidelity_by_layer(results: Mapping, path: str | os.PathLike) -> None:
    """Free-running cosine to each target teacher layer, mean ± sd, one line per student."""
    fig = Figure(figsize=(6.5, 4.0), dpi=DPI)
    ax = fig.add_subplot()
    for name in _order(results):
        keys = sorted((k for k in results["stats"][name] if k.startswith("cosine@")),
                      key=lambda k: int(k.split("@")[1]))  # fmt: skip
        if not keys:
            continue
        layers = [int(k.split("@")[1]) for k in keys]
        means = [results["stats"][name][k]["mean"] for k in keys]
        sds = [results["stats"][name][k]["sd"] for k in keys]
        style = (
            {"linewidth": 2.5} if name in (BASELINE, DEFAULT) else {"linewidth": 1, "alpha": 0.8}
        )
        ax.errorbar(layers, means, yerr=sds, marker="o", capsize=3, label=name, **style)
        ax.set_xticks(layers)
    ax.set_xlabel("target teacher layer")
    ax.set_ylabel("cosine to the teacher (free running)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)


#: matplotlib's tab10 without the headline pair's orange and blue
_OTHER_COLOURS = ("green", "red", "purple", "brown", "pink", "olive", "cyan", "gray")


def loss_curves(results: Mapping, path: str | os.PathLike) -> None:
    """Training loss of every headline run against the step (log scale), one colour per
    variant: where the curve flattens, the run has converged."""
    fig = Figure(figsize=(6.5, 4.0), dpi=DPI)
    ax = fig.add_subplot()
    colors = {BASELINE: "tab:orange", DEFAULT: "tab:blue"}
    # every other variant its own colour, in the order the runs come
    others = iter(f"tab:{n}" for n in _OTHER_COLOURS)
    seen: set[str] = set()
    for run in results["convergence"].values():
        variant = run["variant"]
        label = None if variant in seen else variant
        seen.add(variant)
        if variant not in colors:
            colors[variant] = next(others, "tab:gray")
        ax.plot(run["steps"], run["losses"], color=colors[variant],
                linewidth=1, alpha=0.8, label=label)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("distillation loss (training)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)


def layer_weights(results: Mapping, path: str | os.PathLike) -> None:
    """The probes' learnt weight of each hidden state (SUPERB's weighted sum), per task, for
    the teacher and the headline pair: which layers a task reads."""
    models = results["layer_weights"]
    tasks = sorted({t for per in models.values() for t in per}, key=results["tasks"].index)
    fig = Figure(figsize=(3.2 * len(tasks), 3.0), dpi=DPI)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        for name, per in models.items():
            if task in per:
                weights = per[task]
                ax.plot(range(len(weights)), weights, marker="o", label=name)
        ax.set_title(task.upper(), fontsize=10)
        ax.set_xlabel("hidden state (0 = front-end)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("probe layer weight")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp)
