import json

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModel

import gendistiller
from gendistiller.errors import CheckpointError
from gendistiller.students import build_student, load_student

PRESETS = [
    "gendistiller-tiny",
    "distilhubert-tiny",
    "gendistiller-fast-tiny",
    "distilhubert-fast-tiny",
]


@pytest.mark.parametrize("preset", PRESETS)
def test_round_trip_is_bit_exact(preset, tmp_path, waves):
    torch.manual_seed(0)
    model = (
        build_student(preset, history="all") if preset.startswith("gen") else build_student(preset)
    )
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_student(tmp_path)
    assert type(loaded) is type(model) and loaded.config.to_dict() == model.config.to_dict()
    for (k, a), (k2, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(a, b), k
    x, lengths = waves
    model.eval()
    with torch.no_grad():
        for a, b in zip(
            model(x, lengths).hidden_states, loaded(x, lengths).hidden_states, strict=True
        ):
            assert torch.equal(a, b)


def test_three_lines_of_python(tmp_path, waves):
    build_student("gendistiller-tiny").save_pretrained(tmp_path)
    student = gendistiller.load_student(tmp_path)
    out = student(*waves)
    assert len(out.hidden_states) == 3
    assert out.lengths.tolist() == ((waves[1] - 400) // 320 + 1).tolist() == [49, 34, 19]


@pytest.mark.parametrize("preset", ["gendistiller-tiny", "gendistiller-fast-tiny"])
def test_automodel_loads_a_saved_student(preset, tmp_path):
    model = build_student(preset)
    model.save_pretrained(tmp_path)
    auto = AutoModel.from_pretrained(tmp_path)
    assert type(auto).__name__ == "GenDistillerModel"
    # Every tensor, the filterbank's fixed ones and the merged-frame maps included.
    for a, b in zip(model.state_dict().values(), auto.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_pickled_weights_are_refused(tmp_path):
    model = build_student("gendistiller-tiny")
    pt = tmp_path / "student.pt"
    pt.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="pickled"):
        load_student(pt)
    folder = tmp_path / "folder"
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(CheckpointError, match="pickled weights are refused"):
        load_student(folder)


def test_wrong_format_version_is_refused(tmp_path):
    build_student("gendistiller-tiny").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["gendistiller_format"] = 99
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_student(tmp_path)


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    model = build_student("gendistiller-tiny")
    model.save_pretrained(tmp_path)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state.pop("generator.out_projs.0.bias")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing"):
        load_student(tmp_path)


def test_not_a_student_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="not a gendistiller student"):
        load_student(tmp_path)
    with pytest.raises(CheckpointError, match="no such folder"):
        load_student(tmp_path / "missing")
