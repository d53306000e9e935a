"""Resuming a reproduction: the controls are run again when the scale asks for degraded
copies that the written controls.json does not hold (a new kind of noise, a new cosine)."""

from __future__ import annotations

import json
from pathlib import Path

from gendistiller.reproduce import jobs
from gendistiller.reproduce.jobs import CONTROLS, TEACHER, Context, reference_done, run_reference
from gendistiller.reproduce.plan import SCALES


def _controls_json(copies: list[tuple[str | None, float]]) -> dict:
    """A controls.json holding these degraded copies (kind None: written before kinds)."""
    rows = {"teacher (probe seed 100)": {"cosine": None}}
    for kind, c in copies:
        rows[f"teacher~{kind}{c:g}"] = {"cosine": c} | ({"kind": kind} if kind else {})
    return {"tasks": {"pr": {"controls": rows}}}


def _context(out: Path, **scale) -> Context:
    return Context(out=out, scale=SCALES["cpu"].model_copy(update=scale), teacher="embedded",
                   corpus_root=out, manifest=out, threads=1)  # fmt: skip


def test_the_cpu_scale_keeps_its_frame_controls_and_adds_utterance_ones():
    assert SCALES["cpu"].control_copies() == {
        ("frame", 0.98), ("frame", 0.95), ("utterance", 0.98), ("utterance", 0.95)
    }  # fmt: skip
    assert "utterance" in SCALES["smoke"].control_noise  # the test suite runs the new kind


def test_controls_are_redone_when_the_scale_asks_for_other_copies(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    (tmp_path / f"{TEACHER}.json").write_text(json.dumps({"probes": {"pr": {"test": 1.0}}}))
    assert not reference_done(ctx, TEACHER)  # no controls.json yet
    # As the published run wrote it: frame noise only, rows without a kind.
    old = _controls_json([(None, 0.98), (None, 0.95)])
    (tmp_path / f"{CONTROLS}.json").write_text(json.dumps(old))
    assert reference_done(_context(tmp_path, control_noise=("frame",)), TEACHER)
    assert not reference_done(ctx, TEACHER)

    calls = []

    def fake_controls(ctx, teacher_results):  # the probes themselves are tested elsewhere
        calls.append(teacher_results)
        return _controls_json([(k, c) for k in ctx.scale.control_noise for c in ctx.scale.controls])

    monkeypatch.setattr(jobs, "run_controls", fake_controls)
    teacher_before = (tmp_path / f"{TEACHER}.json").stat().st_mtime_ns
    run_reference(ctx, TEACHER)
    # Only the controls ran, from the teacher's written probes; now they are done.
    assert calls == [{"pr": {"test": 1.0}}]
    assert (tmp_path / f"{TEACHER}.json").stat().st_mtime_ns == teacher_before
    assert reference_done(ctx, TEACHER)
    run_reference(ctx, TEACHER)
    assert len(calls) == 1
    assert not reference_done(_context(tmp_path, controls=(0.9,)), TEACHER)
