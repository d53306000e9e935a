"""transformers checkpoints: HubertModel for the baseline, student + code for GenDistiller."""

import json
import re
import sys

import numpy as np
import pytest
import torch
from transformers import AutoModel, HubertModel

from gendistiller.export.parity import synthetic_speech
from gendistiller.export.remote_code import remote_code_files
from gendistiller.export.transformers import export_transformers, to_hubert
from gendistiller.students import GenDistillerConfig, GenDistillerModel, build_student, load_student

#: The fast students: neither is a HubertModel, both ship with their modelling code.
#: GenDistiller with the architectural switches beyond the paper (docs/method.md).
BEYOND = "gendistiller-tiny-beyond"
#: ... and with the output adapters (which exclude per-step projections).
ADAPTERS = "gendistiller-tiny-adapters"
#: The baseline with its prediction heads exposed (s3prl's layout): no HubertModel.
HEADS = "distilhubert-tiny-heads"
REMOTE_FAST = {"gendistiller-fast-tiny": "GenDistillerModel", "distilhubert-fast-tiny": "DistilHuBERTModel"}  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory, load_with_plain_transformers):
    """Both students exported, and loaded by plain transformers in a subprocess."""
    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    names = ("distilhubert-tiny", "gendistiller-tiny", *REMOTE_FAST)
    students = {name: build_student(name).eval() for name in names}
    students[BEYOND] = build_student(
        "gendistiller-tiny",
        step_embedding=True,
        per_step_output_projection=True,
        expose_block_outputs=True,
    ).eval()
    students[HEADS] = build_student("distilhubert-tiny", expose_prediction_heads=True).eval()
    students[ADAPTERS] = build_student("gendistiller-tiny", output_adapter_rank=4).eval()
    with torch.no_grad():  # off its zero start, so that code without it would differ
        students[BEYOND].generator.step_embedding.normal_(0.0, 0.5)
        for adapter in students[ADAPTERS].generator.output_adapters:
            adapter.up.normal_(0.0, 0.5)
    wave = synthetic_speech(23_456)[None]
    np.save(root / "wave.npy", wave)
    folders = {}
    for name, student in students.items():
        folders[name] = root / name
        export_transformers(student, folders[name])
    stdout = load_with_plain_transformers(sys.executable, root / "wave.npy", folders.values(), root)
    outside = {name: np.load(f"{folder}.states.npy") for name, folder in folders.items()}
    return students, folders, torch.from_numpy(wave), outside, stdout


def _states(student, wave):
    with torch.no_grad():
        return torch.stack(student(wave).hidden_states).numpy()


def test_distilhubert_is_a_plain_hubert_checkpoint(exported):
    students, folders, wave, outside, stdout = exported
    folder = folders["distilhubert-tiny"]
    assert f"{folder} HubertModel" in stdout
    assert json.loads((folder / "config.json").read_text())["model_type"] == "hubert"
    assert not list(folder.glob("*.py"))  # nothing to trust: plain transformers code
    ours = _states(students["distilhubert-tiny"], wave)
    frames = (wave.shape[1] - 400) // 320 + 1
    assert outside["distilhubert-tiny"].shape == ours.shape == (3, 1, frames, 32)
    np.testing.assert_allclose(outside["distilhubert-tiny"], ours, atol=1e-5, rtol=0)


def test_gendistiller_loads_with_trust_remote_code_without_gendistiller(exported):
    students, folders, wave, outside, stdout = exported
    assert f"{folders['gendistiller-tiny']} GenDistillerModel" in stdout
    np.testing.assert_allclose(
        outside["gendistiller-tiny"],
        _states(students["gendistiller-tiny"], wave),
        atol=1e-5,
        rtol=0,
    )


def test_gendistiller_round_trips_through_automodel_and_load_student(exported):
    students, folders, wave, _, _ = exported
    folder = folders["gendistiller-tiny"]
    ours = _states(students["gendistiller-tiny"], wave)
    auto = AutoModel.from_pretrained(folder).eval()  # registered by importing gendistiller
    assert type(auto) is GenDistillerModel
    np.testing.assert_array_equal(_states(auto, wave), ours)
    np.testing.assert_array_equal(_states(load_student(folder), wave), ours)
    assert "trust_remote_code=True" in (folder / "README.md").read_text()


def test_prediction_heads_are_dropped_and_feature_layer_norm_kept():
    torch.manual_seed(1)
    student = build_student("distilhubert-tiny", feature_layer_norm=True).eval()
    hubert = to_hubert(student)
    assert hubert.config.feat_proj_layer_norm and hubert.config.num_hidden_layers == 2
    assert not any("prediction_heads" in k for k in hubert.state_dict())
    wave = torch.from_numpy(synthetic_speech(16_000, seed=4))[None]
    with torch.no_grad():
        theirs = hubert(wave, output_hidden_states=True).hidden_states
    for a, b in zip(student(wave).hidden_states, theirs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_a_student_that_is_no_hubert_is_refused_by_to_hubert():
    from gendistiller.errors import CheckpointError

    student = build_student("distilhubert-tiny", expose_prediction_heads=True)
    with pytest.raises(CheckpointError, match="is no HubertModel"):
        to_hubert(student)


def test_remote_code_is_generated_from_the_package_with_relative_imports():
    files = remote_code_files(GenDistillerConfig, GenDistillerModel)
    assert {"students_gendistiller.py", "students_config.py", "students_components.py"} <= set(
        files
    )
    for name, text in files.items():
        assert text.startswith("# Generated by gendistiller from gendistiller/"), name
        assert not re.search(r"^\s*(from|import)\s+gendistiller", text, re.MULTILINE), name
    assert "from .students_components import TransformerLayer" in files["students_gendistiller.py"]


def test_hubert_checkpoint_loads_with_hubertmodel_class(exported):
    _, folders, _, _, _ = exported
    assert type(HubertModel.from_pretrained(folders["distilhubert-tiny"])) is HubertModel


@pytest.mark.parametrize("name", sorted(REMOTE_FAST))
def test_fast_students_load_with_trust_remote_code_without_gendistiller(exported, name):
    students, folders, wave, outside, stdout = exported
    assert students[name].export_kind == "remote_code"
    assert f"{folders[name]} {REMOTE_FAST[name]}" in stdout
    assert json.loads((folders[name] / "config.json").read_text())["auto_map"]
    np.testing.assert_allclose(outside[name], _states(students[name], wave), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(
        _states(load_student(folders[name]), wave), _states(students[name], wave)
    )


def test_switches_beyond_the_paper_ship_in_the_remote_code(exported):
    students, folders, wave, outside, stdout = exported
    config = json.loads((folders[BEYOND] / "config.json").read_text())
    assert config["step_embedding"] and config["per_step_output_projection"]
    steps = len(config["target_layers"])
    assert config["expose_block_outputs"] and len(outside[BEYOND]) == 1 + 2 * steps  # x0, b_k, h_k
    assert json.loads((folders[ADAPTERS] / "config.json").read_text())["output_adapter_rank"] == 4
    assert json.loads((folders[HEADS] / "config.json").read_text())["expose_prediction_heads"]
    classes = {
        BEYOND: "GenDistillerModel",
        ADAPTERS: "GenDistillerModel",
        HEADS: "DistilHuBERTModel",
    }
    for name, cls in classes.items():
        assert f"{folders[name]} {cls}" in stdout
        ours = _states(students[name], wave)
        np.testing.assert_allclose(outside[name], ours, atol=1e-5, rtol=0)
        np.testing.assert_array_equal(_states(load_student(folders[name]), wave), ours)
