"""transformers checkpoints: HubertModel for the baseline, student + code for GenDistiller."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import AutoModel, HubertModel

from gendistiller.export.fidelity import synthetic_speech
from gendistiller.export.remote_code import remote_code_files
from gendistiller.export.transformers import export_transformers, to_hubert
from gendistiller.students import GenDistillerConfig, GenDistillerModel, build_student, load_student

# Runs in a fresh interpreter that never imports gendistiller: what a user of the exported
# folders has. Saves every folder's hidden states for the same waveform.
_LOAD_WITHOUT_GENDISTILLER = """
import sys
import numpy as np
import torch
from transformers import AutoModel

wave = torch.from_numpy(np.load(sys.argv[1]))
for folder in sys.argv[2:]:
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad():
        if type(model).__name__ == "HubertModel":
            states = model(wave, output_hidden_states=True).hidden_states
        else:
            states = model(wave).hidden_states
    np.save(folder + ".states.npy", torch.stack(list(states)).numpy())
    print(folder, type(model).__name__)
assert "gendistiller" not in sys.modules, "the exported folders must load without gendistiller"
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Both students exported, and loaded by plain transformers in a subprocess."""
    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    students = {
        name: build_student(name).eval() for name in ("distilhubert-tiny", "gendistiller-tiny")
    }
    wave = synthetic_speech(23_456)[None]
    np.save(root / "wave.npy", wave)
    folders = {}
    for name, student in students.items():
        folders[name] = root / name
        export_transformers(student, folders[name])
    env = {**os.environ, "HF_MODULES_CACHE": str(root / "modules"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_WITHOUT_GENDISTILLER,
            str(root / "wave.npy"),
            *map(str, folders.values()),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outside = {name: np.load(f"{folder}.states.npy") for name, folder in folders.items()}
    return students, folders, torch.from_numpy(wave), outside, proc.stdout


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
