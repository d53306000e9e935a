"""`gendistiller evaluate`: several models side by side in one report folder."""

from __future__ import annotations

import json

import pytest

from gendistiller.cli import main
from gendistiller.errors import ConfigError
from gendistiller.evaluation.evaluate import parse_models


@pytest.fixture
def corpus_dir(tiny_corpus):
    return tiny_corpus.root


def test_evaluate_writes_one_report_for_all_models(corpus_dir, tmp_path):
    student = tmp_path / "run"
    from gendistiller.students import build_student

    build_student("distilhubert-tiny").save_pretrained(student / "student")
    out = tmp_path / "report"
    code = main([
        "evaluate", "teacher=random:wavlm-tiny", "gen=gendistiller-tiny", f"distil={student}",
        "--corpus", str(corpus_dir), "--out", str(out), "--recipe", "steps=30", "--recipe", "eval_every=15",
        "--repeats", "1", "--no-memory", "--fidelity-utterances", "6", "--quiet",
    ])  # fmt: skip
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["models"]) == ["teacher", "gen", "distil"] and report["teacher"] == "teacher"
    assert (
        report["models"]["distil"]["kind"] == "student"
        and report["models"]["teacher"]["kind"] == "teacher"
    )
    assert set(report["probes"]) == {"teacher", "gen", "distil"}
    for results in report["probes"].values():
        assert set(results) == {"pr", "ks", "sid", "ic", "asr"}
        for r in results.values():
            assert r["recipe"]["steps"] == 30 and abs(sum(r["layer_weights"]) - 1) < 1e-3
    # Paired differences to the teacher (the default reference) on every task.
    assert report["reference"] == "teacher"
    for task, rows in report["comparisons"].items():
        assert set(rows) == {"gen", "distil"}
        for model, d in rows.items():
            expected = (
                report["probes"][model][task]["test"] - report["probes"]["teacher"][task]["test"]
            )
            assert d["diff"] == pytest.approx(expected, abs=2e-3)
            assert d["low"] <= d["diff"] <= d["high"] and d["verdict"] in ("better", "worse", "tie")
            assert d["n_items"] == report["data"][task]["sizes"]["test"] and d["mde"] >= 0
    assert set(report["fidelity"]) == {"gen", "distil"}  # students only, against the teacher
    fid = report["fidelity_comparisons"]
    assert fid["reference"] == "gen" and set(fid["layers"]) == {
        str(layer) for layer in report["fidelity"]["gen"]["target_layers"]
    } & {str(layer) for layer in report["fidelity"]["distil"]["target_layers"]}
    assert all(set(rows) == {"distil"} for rows in fid["layers"].values())
    assert report["fidelity"]["gen"]["utterances"] == 6
    assert set(report["efficiency"]["models"]) == {"teacher", "gen", "distil"}
    assert any("random weights" in n for n in report["notes"]) and any(
        "overridden" in n for n in report["notes"]
    )
    md = (out / "report.md").read_text()
    for needle in (
        "## Fidelity",
        "## Probes",
        "Paired differences to teacher",
        "minus teacher",
        "## Efficiency",
        "| gen |",
        "| distil |",
        "| teacher |",
    ):
        assert needle in md, needle
    for png in ("layer_weights.png", "efficiency.png", "fidelity-gen.png", "fidelity-distil.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG" and png in md
    assert list((out / "cache").iterdir())  # features cached per model


def test_evaluate_runs_the_controls_and_names_a_reference(corpus_dir, tmp_path):
    out = tmp_path / "report"
    code = main([
        "evaluate", "teacher=random:wavlm-tiny", "other=random:hubert-tiny", "--corpus", str(corpus_dir),
        "--out", str(out), "--tasks", "sid", "--recipe", "steps=20", "--recipe", "eval_every=10",
        "--no-fidelity", "--no-efficiency", "--controls", "--reference", "other", "--quiet",
    ])  # fmt: skip
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["reference"] == "other" and set(report["comparisons"]["sid"]) == {"teacher"}
    controls = report["controls"]
    assert controls["teacher"] == "teacher" and controls["cosines"] == [0.98, 0.95]
    sid = controls["tasks"]["sid"]
    assert sid["teacher"] == report["probes"]["teacher"]["sid"]["test"]
    assert len(sid["controls"]) == 3 and sid["mde"] >= 0
    md = (out / "report.md").read_text()
    assert "## Controls" in md and "teacher~cos0.95" in md and "minus other" in md


def test_evaluate_reports_bad_input_in_one_line(tmp_path, capsys):
    assert (
        main(["evaluate", "x=random:wavlm-tiny", "--tasks", "pr,nope", "--out", str(tmp_path)]) == 2
    )
    assert "unknown task 'nope'" in capsys.readouterr().err
    assert (
        main(["evaluate", "x=random:wavlm-tiny", "--data", "timit=/x", "--out", str(tmp_path)]) == 2
    )
    assert "unknown dataset 'timit'" in capsys.readouterr().err
    assert (
        main(["evaluate", "x=random:wavlm-tiny", "--reference", "y", "--out", str(tmp_path)]) == 2
    )
    assert "no model named 'y'" in capsys.readouterr().err


def test_parse_models():
    assert parse_models(["teacher=random:wavlm", "runs/x/"]) == {
        "teacher": "random:wavlm",
        "x": "runs/x/",
    }
    with pytest.raises(ConfigError, match="twice"):
        parse_models(["a=b", "a=c"])
