"""Resuming a reproduction: the controls are run again when the scale asks for degraded
copies that the written controls.json does not hold (a new kind of noise, a new cosine),
probes and controls are trained again only for the tasks whose recipe changed, and a
result is kept only while the student it measured is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gendistiller.errors import ConfigError
from gendistiller.reproduce import jobs, probing
from gendistiller.reproduce.context import TEACHER, Context
from gendistiller.reproduce.jobs import CONTROLS, job_done, reference_done, run_job, run_reference
from gendistiller.reproduce.plan import SCALES, Job, Scale
from gendistiller.reproduce.probing import recipe_dicts, stale_tasks
from gendistiller.reproduce.variants import VARIANTS


def _controls_json(copies: list[tuple[str | None, float]], tasks=SCALES["cpu"].tasks,
                   score: float = 1.0) -> dict:  # fmt: skip
    """A controls.json holding these degraded copies (kind None: written before kinds)."""
    rows = {"teacher (probe seed 100)": {"cosine": None}}
    for kind, c in copies:
        rows[f"teacher~{kind}{c:g}"] = {"cosine": c} | ({"kind": kind} if kind else {})
    return {"tasks": {t: {"controls": rows, "passed": True, "mde": score} for t in tasks}}


def _probed(ctx: Context, tasks=None, score: float = 1.0) -> dict:
    """Probe results as this scale's recipes write them."""
    tasks = ctx.scale.tasks if tasks is None else tasks
    return {t: {"test": score, "recipe": r} for t, r in recipe_dicts(ctx, tasks).items()}


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
    teacher_probes = _probed(ctx)
    (tmp_path / f"{TEACHER}.json").write_text(json.dumps({"probes": teacher_probes}))
    assert not reference_done(ctx, TEACHER)  # no controls.json yet
    # As the published run wrote it: frame noise only, rows without a kind.
    old = _controls_json([(None, 0.98), (None, 0.95)]) | {
        "recipes": recipe_dicts(ctx, ctx.scale.tasks)
    }
    (tmp_path / f"{CONTROLS}.json").write_text(json.dumps(old))
    assert reference_done(_context(tmp_path, control_noise=("frame",)), TEACHER)
    assert not reference_done(ctx, TEACHER)

    calls = []

    def fake_controls(ctx, teacher_results, tasks):  # the probes are tested elsewhere
        calls.append(teacher_results)
        assert tasks == ctx.scale.tasks  # other copies: every task's controls again
        copies = [(k, c) for k in ctx.scale.control_noise for c in ctx.scale.controls]
        return _controls_json(copies) | {"recipes": recipe_dicts(ctx, ctx.scale.tasks)}

    monkeypatch.setattr(jobs, "run_controls", fake_controls)
    teacher_before = (tmp_path / f"{TEACHER}.json").stat().st_mtime_ns
    run_reference(ctx, TEACHER)
    # Only the controls ran, from the teacher's written probes; now they are done.
    assert calls == [teacher_probes]
    assert (tmp_path / f"{TEACHER}.json").stat().st_mtime_ns == teacher_before
    assert reference_done(ctx, TEACHER)
    run_reference(ctx, TEACHER)
    assert len(calls) == 1
    assert not reference_done(_context(tmp_path, controls=(0.9,)), TEACHER)
    # controls probed with other recipes are redone too
    assert not reference_done(_context(tmp_path, task_recipes={}), TEACHER)


def test_controls_are_redone_only_for_the_tasks_whose_recipe_changed(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    copies = [(k, c) for k in ctx.scale.control_noise for c in ctx.scale.controls]
    (tmp_path / f"{TEACHER}.json").write_text(json.dumps({"probes": _probed(ctx)}))
    old = _controls_json(copies, score=2.0) | {"recipes": recipe_dicts(ctx, ctx.scale.tasks)}
    old["recipes"]["sid"] = {**old["recipes"]["sid"], "seeds": 1}  # before SID averaged heads
    old["tasks"]["ks"]["passed"] = False
    (tmp_path / f"{CONTROLS}.json").write_text(json.dumps(old))
    assert jobs.stale_controls(ctx, old) == ("sid",)
    calls = []

    def fake_controls(ctx, teacher_results, tasks):
        calls.append(tasks)
        return _controls_json(copies, tasks, score=3.0) | {"recipes": recipe_dicts(ctx, tasks)}

    monkeypatch.setattr(jobs, "run_controls", fake_controls)
    run_reference(ctx, TEACHER)
    assert calls == [("sid",)]
    new = json.loads((tmp_path / f"{CONTROLS}.json").read_text())
    assert {t: r["mde"] for t, r in new["tasks"].items()} == {
        "pr": 2.0,
        "sid": 3.0,
        "ks": 2.0,
        "ic": 2.0,
    }
    assert new["recipes"] == recipe_dicts(ctx, ctx.scale.tasks)
    assert new["passed"] is False  # a kept task's verdict still counts
    assert reference_done(ctx, TEACHER)


def test_the_cpu_scale_averages_heads_on_its_noisiest_probes():
    cpu = SCALES["cpu"]
    assert cpu.recipe_overrides("sid")["seeds"] == 3 and cpu.recipe_overrides("pr")["seeds"] == 2
    assert "seeds" not in cpu.recipe_overrides("ks")
    # every task's recipe is the task's default with the scale's overrides on top
    ctx = _context(Path("unused"))
    assert recipe_dicts(ctx, ("sid",))["sid"]["seeds"] == 3


def test_task_recipes_must_name_the_scales_tasks():
    fields = SCALES["smoke"].model_dump() | {"task_recipes": {"asr": {"seeds": 2}}}
    with pytest.raises(ConfigError, match="'asr' is not one of the tasks"):
        Scale(**fields)


def test_stale_tasks_are_the_missing_and_those_probed_with_another_recipe(tmp_path):
    ctx = _context(tmp_path)
    result = {"probes": _probed(ctx, ("pr", "ks", "ic"))}
    result["probes"]["pr"]["recipe"] = {**result["probes"]["pr"]["recipe"], "seeds": 1}
    del result["probes"]["ic"]["recipe"]  # written before results kept their recipe
    assert stale_tasks(ctx, result, ("pr", "sid", "ks", "ic")) == ("pr", "sid", "ic")
    assert stale_tasks(ctx, result, ("ks",)) == ()
    assert stale_tasks(ctx, {}, ()) == ()  # an ablation probes nothing: never stale


class _FakeStudent:
    def parameter_count(self) -> int:
        return 7

    class model:  # noqa: N801 - stands in for the upstream's module
        @staticmethod
        def parameters():
            return []


def _fake_evaluation(ctx, monkeypatch, probed: list) -> None:
    def fake_probes(ctx, upstream, cache=None, tasks=None):
        probed.append(tasks)
        return {t: {"test": 3.0, "recipe": r} for t, r in recipe_dicts(ctx, tasks).items()}

    monkeypatch.setattr(probing, "probes", fake_probes)
    monkeypatch.setattr(
        "gendistiller.evaluation.superb.load_upstream", lambda *a, **k: _FakeStudent()
    )
    monkeypatch.setattr(jobs, "_fidelity", lambda *a: {"l1": [0.9]})


def test_a_resumed_job_probes_only_its_stale_tasks_and_keeps_its_fidelity(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    job = Job(next(v for v in VARIANTS if v.budget == "full"), 0)
    ctx.run_dir(job).mkdir(parents=True)
    ctx.trained_path(job).write_text('{"steps": 800, "seconds": 10.0}')  # never again
    old = {"fidelity": {"l1": [0.5]}, "probes": _probed(ctx, score=2.0),
           "seconds": {"distill": 10.0, "evaluate": 5.0}}  # fmt: skip
    old["probes"]["sid"]["recipe"] = {**old["probes"]["sid"]["recipe"], "seeds": 1}
    ctx.result_path(job).parent.mkdir(parents=True)
    ctx.result_path(job).write_text(json.dumps(old))
    assert not job_done(ctx, job)

    probed = []
    _fake_evaluation(ctx, monkeypatch, probed)
    monkeypatch.setattr(jobs, "_fidelity", lambda *a: pytest.fail("fidelity is kept"))
    run_job(ctx, job)
    assert probed == [("sid",)]
    new = json.loads(ctx.result_path(job).read_text())
    assert new["fidelity"] == old["fidelity"]
    assert {t: r["test"] for t, r in new["probes"].items()} == {
        "pr": 2.0,
        "sid": 3.0,
        "ks": 2.0,
        "ic": 2.0,
    }
    assert list(new["probes"]) == list(ctx.scale.tasks)
    assert new["seconds"]["distill"] == 10.0 and "reprobe" in new["seconds"]
    assert job_done(ctx, job)


class _Trained:
    global_step = 800


def test_a_result_whose_student_is_gone_is_not_mixed_with_a_new_student(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    job = Job(next(v for v in VARIANTS if v.budget == "full"), 0)
    old = {"fidelity": {"l1": [0.5]}, "probes": _probed(ctx, score=2.0),
           "seconds": {"distill": 10.0, "evaluate": 5.0}}  # fmt: skip
    old["probes"]["sid"]["recipe"] = {**old["probes"]["sid"]["recipe"], "seeds": 1}
    ctx.result_path(job).parent.mkdir(parents=True)
    ctx.result_path(job).write_text(json.dumps(old))  # its run folder was deleted
    trainings, probed = [], []
    _fake_evaluation(ctx, monkeypatch, probed)
    monkeypatch.setattr(
        "gendistiller.training.run.train", lambda cfg, progress: trainings.append(1) or _Trained()
    )
    monkeypatch.setattr(ctx, "config", lambda job: None)
    run_job(ctx, job)
    new = json.loads(ctx.result_path(job).read_text())
    assert trainings == [1] and probed == [ctx.scale.tasks]  # the new student, every task
    assert new["fidelity"] == {"l1": [0.9]} and "reprobe" not in new["seconds"]
    assert json.loads(ctx.trained_path(job).read_text())["steps"] == 800


def test_a_student_distilled_before_a_kill_keeps_its_distill_time(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    job = Job(next(v for v in VARIANTS if v.budget == "full"), 0)
    ctx.run_dir(job).mkdir(parents=True)
    ctx.trained_path(job).write_text('{"steps": 800, "seconds": 42.0}')  # no result yet
    _fake_evaluation(ctx, monkeypatch, [])
    monkeypatch.setattr("gendistiller.training.run.train", lambda *a, **k: pytest.fail("again"))
    run_job(ctx, job)
    seconds = json.loads(ctx.result_path(job).read_text())["seconds"]
    assert seconds["distill"] == 42.0 and set(seconds) == {"distill", "evaluate"}


def test_a_stale_reference_is_probed_again_on_its_stale_tasks(tmp_path, monkeypatch):
    ctx = _context(tmp_path, controls=())
    old = {"probes": _probed(ctx, score=2.0)}
    old["probes"]["pr"]["recipe"] = {**old["probes"]["pr"]["recipe"], "seeds": 1}
    (tmp_path / f"{TEACHER}.json").write_text(json.dumps(old))
    assert not reference_done(ctx, TEACHER)
    probed = []

    def fake_probes(ctx, upstream, cache=None, tasks=None):
        probed.append(tasks)
        return {t: {"test": 3.0, "recipe": r} for t, r in recipe_dicts(ctx, tasks).items()}

    class _Teacher(_FakeStudent):
        pass

    monkeypatch.setattr(probing, "probes", fake_probes)
    monkeypatch.setattr(jobs, "teacher_upstream", lambda spec: _Teacher())
    run_reference(ctx, TEACHER)
    assert probed == [("pr",)]
    assert reference_done(ctx, TEACHER)
    probes = json.loads((tmp_path / f"{TEACHER}.json").read_text())["probes"]
    assert {t: r["test"] for t, r in probes.items()} == {
        "pr": 3.0,
        "sid": 2.0,
        "ks": 2.0,
        "ic": 2.0,
    }
