"""Every model against a reference, paired over the same test items (what report.md shows).

Probe scores: each model minus the reference model, per task
(:func:`gendistiller.evaluation.statistics.compare`); fidelity: each student minus the
reference student, per teacher layer both predict (:func:`compare_fidelity`, in cosine
points x 100). Each difference comes with its 95 % interval, verdict and MDE.
"""

from __future__ import annotations

from collections.abc import Mapping

from gendistiller.evaluation.statistics import compare, compare_fidelity


def reference_model(models: list[str], preferred: str = "", teacher: str | None = None) -> str:
    """The model the others are compared with: ``preferred`` if given, else the teacher,
    else the first model."""
    if preferred:
        return preferred
    return teacher if teacher in models else models[0]


def probe_comparisons(
    probes: Mapping[str, Mapping[str, Mapping]], reference: str, *, seed: int = 0
) -> dict:
    """``{task: {model: Difference.to_dict()}}``: each model minus ``reference`` on the
    test items of each task both were probed on (one result per model, as
    ``gendistiller evaluate`` runs them)."""
    out: dict[str, dict] = {}
    for task, ref in probes[reference].items():
        rows = {}
        for model, results in probes.items():
            if model == reference or task not in results:
                continue
            d = compare([results[task]], [ref], lower_is_better=ref["lower_is_better"], seed=seed)
            rows[model] = d.to_dict()
        out[task] = rows
    return out


def fidelity_comparisons(
    fidelity: Mapping[str, Mapping], preferred: str = "", *, seed: int = 0
) -> dict:
    """``{"reference": student, "layers": {layer: {student: Difference.to_dict()}}}``: each
    student minus the reference student (``preferred`` if it has fidelity, else the first
    one) per teacher layer both predict; empty with fewer than two students."""
    students = list(fidelity)
    if len(students) < 2:
        return {}
    reference = preferred if preferred in fidelity else students[0]
    ref = fidelity[reference]
    layers: dict[str, dict] = {}
    for layer in ref["target_layers"]:
        rows = {
            s: compare_fidelity([f], [ref], layer, seed=seed).to_dict()
            for s, f in fidelity.items()
            if s != reference and layer in f["target_layers"]
        }
        if rows:
            layers[str(layer)] = rows
    return {"reference": reference, "layers": layers}
