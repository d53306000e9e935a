"""The report's statistics: paired differences to the reference, fidelity between
students, and the controls (docs/evaluation.md, "Statistics" and "Controls")."""

from __future__ import annotations

from collections.abc import Mapping

from gendistiller.evaluation.markdown import table


def difference_cells(d: Mapping) -> list[str]:
    """A difference as table cells: value, interval, verdict, MDE."""
    pct = round(100 * d["level"])
    return [
        f"{d['diff']:+.2f}",
        f"[{d['low']:+.2f}, {d['high']:+.2f}] ({pct}%)",
        d["verdict"],
        f"{d['mde']:.2f}",
    ]


def comparison_table(report: Mapping) -> str:
    """Per task and model: the test score and the paired difference to the reference."""
    ref = report["reference"]
    rows = []
    for task in report["tasks"]:
        diffs = report["comparisons"].get(task, {})
        for model, results in report["probes"].items():
            if task not in results:
                continue
            cells = ["reference", "", "", ""] if model == ref else difference_cells(diffs[model])
            rows.append([task.upper(), model, f"{results[task]['test']:.2f}", *cells])
    header = ["task", "model", "score", f"minus {ref}", "interval", "verdict", "MDE"]
    return table(header, rows, "llrrrlr")


def comparison_section(report: Mapping) -> list[str]:
    return [
        f"Paired differences to {report['reference']} (model minus reference, on the same test "
        "items; percentile bootstrap over items, 95 % interval). The verdict is better or worse "
        "when the interval excludes zero, else tie; MDE: the smallest true difference this "
        "comparison detects with 80 % power (docs/evaluation.md, Statistics).",
        "",
        comparison_table(report),
        "",
    ]


def fidelity_comparison_section(comparisons: Mapping, fidelity: Mapping) -> list[str]:
    """Per teacher layer: each student's cosine and its paired difference to the reference
    student, in cosine points x 100."""
    if not comparisons or not comparisons.get("layers"):
        return []
    ref = comparisons["reference"]
    rows = []
    for layer, diffs in comparisons["layers"].items():
        for student, fid in fidelity.items():
            if int(layer) not in fid["target_layers"]:
                continue
            cosine = fid["cosine"][fid["target_layers"].index(int(layer))]
            cells = (
                ["reference", "", "", ""] if student == ref else difference_cells(diffs[student])
            )
            rows.append([layer, student, f"{cosine:.4f}", *cells])
    header = [
        "teacher layer",
        "student",
        "cosine",
        f"minus {ref} (x100)",
        "interval",
        "verdict",
        "MDE",
    ]
    return [
        f"Paired differences to {ref} over the same utterances, in cosine points x 100 "
        "(+1.00 = +0.01 cosine):",
        "",
        table(header, rows, "llrrrlr"),
        "",
    ]


def controls_section(controls: Mapping) -> list[str]:
    """The controls: the teacher against itself re-probed and against degraded copies."""
    teacher = controls["teacher"]
    out = [
        "## Controls",
        "",
        f"{teacher} (probe seed {controls['probe_seed']}) against itself re-probed with probe "
        f"seed {controls['reprobe_seed']} (expected: tie) and against copies of its hidden "
        f"states with {' or '.join(controls.get('kinds', ['frame']))} noise at cosine "
        f"{', '.join(f'{c:g}' for c in controls['cosines'])} (expected: the teacher better, "
        "more so for the lower cosine; frame noise is independent per frame, utterance noise "
        "shares one direction across an utterance's frames). Differences are teacher "
        "minus control; the MDE of each task is 2.80 x the standard error of the re-probed "
        "comparison (95 % level, 80 % power).",
        "",
    ]
    rows = []
    for task, res in controls["tasks"].items():
        for name, row in res["controls"].items():
            rows.append(
                [task.upper(), name, noise_of(row), f"{row['score']:.2f}", *difference_cells(row["difference"])[:3],
                 row["expected"], "pass" if row["passed"] else "FAIL"]
            )  # fmt: skip
    header = [
        "task",
        "control",
        "noise",
        "score",
        f"{teacher} minus it",
        "interval",
        "verdict",
        "expected",
        "check",
    ]
    out += [table(header, rows, "lllrrrlll"), ""]
    summary = [
        [task.upper(), f"{res['teacher']:.2f}", f"{res['mde']:.2f}",
         "yes" if res["ordered"] else "NO", "pass" if res["passed"] else "FAIL"]
        for task, res in controls["tasks"].items()
    ]  # fmt: skip
    header = ["task", f"{teacher}", "MDE", "loss grows as cosine falls (per noise)", "all checks"]
    out += [table(header, summary, "lrrll"), ""]
    return out


def noise_of(row: Mapping) -> str:
    """A control row's kind of noise ("–" for the re-probed teacher; a row written before
    kinds existed has frame noise)."""
    return "–" if row["cosine"] is None else row.get("kind") or "frame"
