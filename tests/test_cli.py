import json
import subprocess
import sys

from gendistiller.cli import main


def test_info_json(capsys):
    assert main(["info", "gendistiller-base", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["name"] == "gendistiller-base"
    assert facts["target_layers"] == [4, 8, 12]
    assert facts["num_hidden_states"] == 4 and facts["hidden_size"] == 768
    assert facts["parameters"] == facts["training_parameters"]
    assert abs(facts["parameters"] - 16.99e6) / 16.99e6 < 0.01


def test_info_distilhubert_separates_heads(capsys):
    assert main(["info", "distilhubert-base", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["training_parameters"] - facts["parameters"] > 3.5e6


def test_info_saved_folder_table(tmp_path, capsys):
    from gendistiller.students import build_student

    build_student("distilhubert-tiny").save_pretrained(tmp_path)
    assert main(["info", str(tmp_path)]) == 0
    assert "DistilHuBERTModel" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gendistiller.cli", "info", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such folder" in lines[0] and "Traceback" not in proc.stderr
