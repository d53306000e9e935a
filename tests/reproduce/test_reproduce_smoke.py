"""``gendistiller reproduce --scale smoke``: every variant, two seeds, the embedded
teacher, the tiny corpus; then a rerun that finds everything done."""

import json

from gendistiller.cli import main
from gendistiller.reproduce.plan import SCALES
from gendistiller.reproduce.variants import VARIANTS


def test_smoke_reproduction_writes_the_table_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENDISTILLER_CACHE", str(tmp_path / "cache"))
    out, docs = tmp_path / "work", tmp_path / "results"
    args = ["reproduce", "--scale", "smoke", "--out", str(out), "--results", str(docs), "--workers", "1"]  # fmt: skip
    assert main(args) == 0
    first = capsys.readouterr().out
    scale = SCALES["smoke"]
    n_jobs = sum(len(scale.seeds_of(v)) for v in VARIANTS)
    assert f"0 done, {n_jobs} to run" in first
    assert "teacher cache for seed 0" in first and "controls:" in first

    table = (docs / "results.md").read_text()
    for v in VARIANTS:
        assert f"| {v.name} |" in table
    for section in ("| teacher |", "| teacher-random |", "## Claims", "## Paired differences",
                    "## Minimum detectable effects", "## Controls", "## Does each task measure",
                    "## Convergence"):  # fmt: skip
        assert section in table
    r = json.loads((docs / "results.json").read_text())
    assert r["seeds"] == {v.name: list(scale.seeds_of(v)) for v in VARIANTS}
    assert set(r["efficiency"]["models"]) == {"teacher", *(v.name for v in VARIANTS)}
    assert set(r["task_check"]) == set(scale.tasks)
    for v in VARIANTS:  # the ablations are probed on their subset only
        assert set(r["stats"][v.name]) - {"fidelity"} >= set(scale.tasks_of(v)), v.name
        assert not set(r["stats"][v.name]) & (set(scale.tasks) - set(scale.tasks_of(v))), v.name
    assert {c["variant"] for c in r["convergence"].values()} == {
        v.name for v in VARIANTS if v.budget == "full"
    }
    plots = ("scores.png", "fidelity_by_layer.png", "loss_curves.png", "layer_weights.png")
    assert all((docs / name).stat().st_size > 0 for name in plots)
    # every unit recorded its cost, so the least wall time from scratch is known
    assert r["cost"]["complete"] and "## Cost of each unit of work" in table
    assert set(r["cost"]["variants"]) == {v.name for v in VARIANTS}
    # the students of one seed read the teacher's states from its cache
    assert (out / "teacher-cache" / "seed0").is_dir()

    # a finished reproduction is not redone: no job runs, the table is rewritten the same
    stamps = {
        p: p.stat().st_mtime_ns for p in [*(out / "jobs").glob("*.json"), out / "efficiency.json"]
    }
    assert main(args) == 0
    second = capsys.readouterr().out
    assert f"{n_jobs} done, 0 to run" in second and "teacher cache" not in second
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # every variant timed already
    again = json.loads((docs / "results.json").read_text())
    assert again["stats"] == r["stats"]
    assert again["invocations"] == 2 and again["wall_minutes"] >= r["wall_minutes"]
