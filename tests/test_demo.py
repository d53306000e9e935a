import csv

from gendistiller.training.config import load_config


def test_demo_recipe_validates():
    cfg = load_config("demo", ["data.manifest=/x/manifest.tsv"])
    assert cfg.teacher.spec == "embedded" and cfg.student.scale_to_teacher
    assert cfg.student.build_config().model_type == "gendistiller"


def test_train_manifest_holds_training_speakers_only(tiny_corpus, tmp_path):
    path = tiny_corpus.write_manifest(tmp_path / "train.tsv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    train = {r.path for r in tiny_corpus.split("all", "train")}
    assert rows and {r["path"] for r in rows} == train
    held_out = {r.speaker for r in tiny_corpus.records if r.split != "train"}
    assert held_out and not held_out & {r.speaker for r in tiny_corpus.split("all", "train")}


def test_demo_runs_end_to_end(tmp_path, monkeypatch, capsys):
    from gendistiller.cli import main

    monkeypatch.setenv("GENDISTILLER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert (
        main(
            [
                "demo",
                "--out",
                str(out),
                "--corpus-size",
                "tiny",
                "--steps",
                "2",
                "--tasks",
                "ks",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "KS accuracy" in printed and "fidelity" in printed
    assert (out / "run" / "student" / "model.safetensors").is_file()
    assert (out / "report" / "report.md").is_file() and (out / "report" / "report.json").is_file()
