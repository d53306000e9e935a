"""The targets: written once (docs show the same table), checked only on matching models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gendistiller.measure.targets import TARGETS, check_targets, target_lines, targets_table

ROOT = Path(__file__).resolve().parents[2]
GEN = {"kind": "student", "model_type": "gendistiller", "frontend": "conv", "hidden_size": 768, "hidden_states": 4, "spec": "g"}  # fmt: skip
DISTIL = {"kind": "student", "model_type": "gendistiller_distilhubert", "frontend": "conv", "hidden_size": 768, "hidden_states": 3, "spec": "d"}  # fmt: skip
TEACHER = {"kind": "teacher", "model_type": "wavlm", "hidden_size": 768, "hidden_states": 13, "spec": "t"}  # fmt: skip


def row(model, runtime, ms, threads=1, seconds=10, **extra):
    return {"model": model, "runtime": runtime, "threads": threads, "seconds": seconds,
            "median_ms": ms, "file_mb": None, "min_cosine": None, **extra}  # fmt: skip


def by_key(results):
    return {(r["target"], r["threads"]): r for r in results}


def test_latency_targets_compare_the_longest_input_of_one_thread_count():
    models = {"t": TEACHER, "g": GEN, "d": DISTIL}
    rows = [row("t", "pytorch", 1000), row("g", "pytorch", 380), row("d", "pytorch", 320),
            row("g", "pytorch", 1.0, seconds=1), row("d", "pytorch", 100.0, seconds=1)]  # fmt: skip
    out = by_key(check_targets(models, rows))
    vs_distil = out[("gendistiller_vs_distilhubert", 1)]
    assert vs_distil["models"] == ["g", "d"] and vs_distil["value"] == pytest.approx(
        380 / 320, abs=1e-4
    )
    assert vs_distil["max"] == 1.15 and not vs_distil["met"]
    assert out[("gendistiller_vs_teacher", 1)]["value"] == pytest.approx(0.38)
    assert out[("gendistiller_vs_teacher", 1)]["met"]
    rows[2]["median_ms"] = 340.0
    assert by_key(check_targets(models, rows))[("gendistiller_vs_distilhubert", 1)]["met"]
    models["t"] = {**TEACHER, "hidden_states": 3}  # not a WavLM Base+ shaped teacher
    assert ("gendistiller_vs_teacher", 1) not in by_key(check_targets(models, rows))
    models["g"] = {**GEN, "hidden_size": 256}  # stated for the 768-d presets only
    assert check_targets(models, rows) == []


def test_int8_targets_and_thread_counts():
    models = {"t": TEACHER, "g": GEN}
    rows = [row("t", "pytorch", 1000, threads=t) for t in (1, 2)]
    rows += [row("g", "pytorch", 400, threads=t) for t in (1, 2)]
    rows += [row("g", "onnx", 300, threads=t, file_mb=68.0) for t in (1, 2)]
    rows += [row("g", "onnx-int8", 190, threads=1, file_mb=17.0, min_cosine=0.985),
             row("g", "onnx-int8", 210, threads=2, file_mb=17.0, min_cosine=0.985)]  # fmt: skip
    out = by_key(check_targets(models, rows))
    assert out[("gendistiller_int8_speed", 1)]["value"] == pytest.approx(0.475)
    assert (
        out[("gendistiller_int8_speed", 1)]["met"]
        and not out[("gendistiller_int8_speed", 2)]["met"]
    )
    assert (
        out[("gendistiller_int8_file", 2)]["value"] == pytest.approx(0.25)
        and out[("gendistiller_int8_file", 2)]["met"]
    )
    assert (
        not out[("gendistiller_int8_cosine", 1)]["met"]
        and out[("gendistiller_int8_cosine", 1)]["min"] == 0.99
    )
    lines = target_lines(check_targets(models, rows))
    assert any(
        "gendistiller_int8_cosine (1 threads, g): 0.985 (target >= 0.99): NOT met" == x
        for x in lines
    )


def test_fast_student_targets_are_against_the_teacher_pytorch_time():
    models = {"t": TEACHER, "f": {**GEN, "spec": "gendistiller-fast", "frontend": "fbank"}}
    rows = [row("t", "pytorch", 1000), row("f", "pytorch", 120), row("f", "onnx-int8", 80)]
    out = by_key(check_targets(models, rows))
    assert out[("fast_vs_teacher", 1)]["met"] and out[("fast_vs_teacher", 1)]["moonshot"] == 0.10
    assert not out[("fast_int8_vs_teacher", 1)]["met"]  # 0.08 > 0.07
    assert out[("fast_int8_vs_teacher", 1)]["runtimes"] == ["onnx-int8", "pytorch"]
    # In one run with the paper's student, its targets go to the paper's (conv) student.
    models = {"t": TEACHER, "f": models["f"], "g": GEN}
    out = by_key(check_targets(models, [*rows, row("g", "pytorch", 500)]))
    assert out[("gendistiller_vs_teacher", 1)]["models"] == ["g", "t"]
    assert out[("fast_vs_teacher", 1)]["models"] == ["f", "t"]


def test_docs_show_the_one_targets_table():
    assert targets_table() in (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert len({t.key for t in TARGETS}) == len(TARGETS)


def test_no_other_module_writes_targets_out():
    """The thresholds live in measure/targets.py alone (no TARGET_* constants elsewhere)."""
    own = ROOT / "src" / "gendistiller" / "measure" / "targets.py"
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]:
        if path == own:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)]  # fmt: skip
        assert not [n for n in names if n.startswith("TARGET")], path
