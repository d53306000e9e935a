"""The one encoder interface and the one resolver (gendistiller.encoders)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import HubertConfig

from gendistiller.encoders import (
    STANDARD,
    Encoder,
    EncoderOutput,
    FrameGeometry,
    lengths_to_mask,
    load_encoder,
)
from gendistiller.errors import CheckpointError, TeacherError
from gendistiller.students import STUDENT_KINDS, StudentModel, build_student
from gendistiller.teachers import EMBEDDED_DIR, TINY_TEACHER, Teacher, load_teacher


def conv_output_lengths(lengths, kernels, strides):
    """The layer-by-layer count FrameGeometry replaced (students.components, before)."""
    for kernel, stride in zip(kernels, strides, strict=True):
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    return lengths.clamp(min=0)


# --- frame geometry ------------------------------------------------------------------------
STACKS = [
    STANDARD,
    FrameGeometry((7, 5, 3), (3, 2, 2)),
    FrameGeometry((4,), (4,)),
    FrameGeometry((10, 8, 4, 3), (5, 4, 2, 2)),
]


@pytest.mark.parametrize("geometry", STACKS, ids=str)
def test_geometry_matches_the_layer_by_layer_count(geometry):
    n = torch.arange(0, 20_000, 7)
    expected = conv_output_lengths(n, geometry.kernels, geometry.strides)
    assert torch.equal(geometry.output_lengths(n), expected)
    for samples in (0, 1, geometry.receptive_field - 1, geometry.receptive_field, 12_345):
        assert geometry.num_frames(samples) == int(expected_one(geometry, samples))
    for frames in (1, 2, 57):
        assert geometry.num_frames(geometry.num_samples(frames)) == frames
        assert geometry.num_frames(geometry.num_samples(frames) - 1) == frames - 1


def expected_one(geometry, samples):
    return conv_output_lengths(torch.tensor([samples]), geometry.kernels, geometry.strides)[0]


def test_standard_geometry_and_its_single_layer_equivalent():
    assert (STANDARD.stride, STANDARD.receptive_field) == (320, 400)
    single = FrameGeometry.single(400, 320)
    n = torch.arange(0, 50_000, 13)
    assert torch.equal(single.output_lengths(n), STANDARD.output_lengths(n))
    with pytest.raises(ValueError, match="equal, non-zero length"):
        FrameGeometry((3, 3), (2,))


def test_geometry_comes_from_the_front_end_config_and_matches_real_outputs(tiny_teacher):
    light = build_student(
        "gendistiller-tiny", conv_dim=(32, 32, 32), conv_kernel=(7, 5, 3), conv_stride=(4, 4, 4)
    ).eval()
    assert (
        light.geometry
        == FrameGeometry((7, 5, 3), (4, 4, 4))
        == FrameGeometry.from_config(light.config)
    )
    assert tiny_teacher.geometry == STANDARD
    for model in (light, tiny_teacher, build_student("distilhubert-tiny").eval()):
        for n in (400, 1234, 8000, 16001):
            out = model(torch.randn(1, n) * 0.1)
            assert out.hidden_states[0].shape[1] == model.geometry.num_frames(n) == out.lengths[0]


# --- one output type -----------------------------------------------------------------------
def test_teacher_and_student_outputs_have_one_structure(tiny_teacher, waves):
    x, lengths = waves
    student = build_student("gendistiller-tiny").eval()
    with torch.no_grad():
        outs = {"teacher": tiny_teacher(x, lengths), "student": student(x, lengths)}
    for name, out in outs.items():
        assert type(out) is EncoderOutput, name
        assert [f.name for f in dataclasses.fields(out)] == [
            "hidden_states",
            "lengths",
            "predictions",
        ]
        assert out.lengths.tolist() == STANDARD.output_lengths(lengths).tolist()
        assert out.last_hidden_state is out.hidden_states[-1]
        padding = ~lengths_to_mask(out.lengths, out.hidden_states[0].shape[1])
        for state in out.hidden_states:
            assert state.shape == (3, 49, 32)
            assert state[padding].abs().max() == 0, f"{name}: padding frames are not zero"
    assert outs["teacher"].predictions is None
    assert len(outs["student"].predictions) == len(student.config.target_layers)


def test_old_output_names_are_the_one_type():
    from gendistiller import StudentOutput, TeacherOutput
    from gendistiller.evaluation import UpstreamOutput
    from gendistiller.export.onnx import OnnxOutput

    assert StudentOutput is TeacherOutput is UpstreamOutput is OnnxOutput is EncoderOutput


# --- one resolver --------------------------------------------------------------------------
def _facts(model) -> tuple:
    return (model.hidden_size, model.num_hidden_states, model.geometry, model.parameter_count())


def test_random_teacher_and_embedded(tiny_teacher):
    teacher = load_encoder("random:wavlm-tiny", seed=0)
    assert isinstance(teacher, Teacher) and isinstance(teacher, Encoder)
    assert teacher.name == "random:wavlm-tiny" and teacher.config.model_type == "wavlm"
    assert _facts(teacher) == (32, 3, STANDARD, tiny_teacher.parameter_count())
    if not (EMBEDDED_DIR / "model.safetensors").is_file():
        pytest.skip("the embedded teacher is not installed in this copy")
    embedded = load_encoder("embedded")
    assert isinstance(embedded, Encoder) and embedded.name == "embedded"
    assert embedded.num_hidden_states == embedded.config.num_hidden_layers + 1


def test_student_folder_run_folder_and_teacher_folder(tmp_path):
    student = build_student("distilhubert-tiny").eval()
    student.save_pretrained(tmp_path / "run" / "student")
    x = torch.randn(2, 8000) * 0.1
    expected = student(x).hidden_states
    for spec in (tmp_path / "run" / "student", tmp_path / "run", str(tmp_path / "run")):
        model = load_encoder(spec)
        assert isinstance(model, StudentModel) and isinstance(model, Encoder)
        assert model.name == str(spec) and not model.training
        assert _facts(model) == _facts(student)
        assert model.parameter_count(training=True) > model.parameter_count()
        for a, b in zip(model(x).hidden_states, expected, strict=True):
            torch.testing.assert_close(a, b)
    hubert = Teacher.from_config(HubertConfig(**TINY_TEACHER))
    hubert.model.save_pretrained(tmp_path / "teacher")
    teacher = load_encoder(tmp_path / "teacher")
    assert isinstance(teacher, Teacher) and teacher.name == str(tmp_path / "teacher")
    assert _facts(teacher) == _facts(hubert)
    with pytest.raises(CheckpointError, match="no config.json"):
        load_encoder(tmp_path)


def test_preset_is_seeded_and_leaves_the_callers_random_state():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = load_encoder("gendistiller-tiny", seed=3)
    assert torch.equal(torch.rand(1), before)  # the caller's stream is untouched
    b, c = load_encoder("gendistiller-tiny", seed=3), load_encoder("gendistiller-tiny", seed=4)
    assert a.name == "gendistiller-tiny" and not a.training
    sa, sb, sc = (m.state_dict()["generator.blocks.0.attention.q_proj.weight"] for m in (a, b, c))
    assert torch.equal(sa, sb) and not torch.equal(sa, sc)
    meta = load_encoder("gendistiller-tiny", device="meta")
    assert meta.parameter_count() == a.parameter_count()


def test_onnx_export_is_an_encoder(tmp_path, waves):
    pytest.importorskip("onnxruntime")
    from gendistiller.evaluation.superb import Upstream
    from gendistiller.export.onnx import export_onnx

    student = load_encoder("gendistiller-tiny")
    path = export_onnx(student, tmp_path / "tiny.onnx")
    onnx = load_encoder(path)
    assert isinstance(onnx, Encoder) and onnx.name == str(path)
    assert _facts(onnx) == _facts(student)
    assert onnx.config.to_dict()["target_layers"] == student.config.target_layers
    x, lengths = waves
    got, ref = onnx(x, lengths), student(x, lengths)
    assert type(got) is EncoderOutput and torch.equal(got.lengths, ref.lengths)
    for a, b in zip(got.hidden_states, ref.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    up = Upstream(onnx)
    assert up.kind == "student" and up.target_layers == list(student.config.target_layers)
    assert len(up.fingerprint()) == 16
    with pytest.raises(CheckpointError, match="no such ONNX file"):
        load_encoder(tmp_path / "missing.onnx")


@pytest.mark.parametrize("spec", ["runs/nothere", "./x", "x/y/z", "runs/nothere/student"])
def test_a_missing_path_is_no_such_folder_never_a_hub_id(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "runs").mkdir()
    with pytest.raises(CheckpointError) as err:
        load_encoder(spec)
    message = str(err.value)
    assert message.startswith(f"{spec}: ") and "no such folder" in message
    assert "Hugging Face" not in message and "\n" not in message
    missing_part = "nothere" if spec.startswith("runs/") else "x"
    assert (
        f"'{missing_part}' in {tmp_path / 'runs' if spec.startswith('runs/') else tmp_path}"
        in message
    )
    with pytest.raises(TeacherError, match="no such folder"):
        load_teacher(spec)


def test_registry_lists_every_student_kind_once():
    assert set(STUDENT_KINDS) == {"gendistiller", "gendistiller_distilhubert"}
    for model_type, (config_cls, model_cls) in STUDENT_KINDS.items():
        assert config_cls.model_type == model_type and model_cls.config_class is config_cls
        assert model_cls.export_kind in ("hubert", "remote_code")


def test_an_owner_name_spec_neither_here_nor_cached_says_both(tmp_path, monkeypatch):
    # No runs/ here: "runs/nothere" may be a hub id, so the message covers both readings.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TeacherError) as err:
        load_encoder("runs/nothere")
    assert str(err.value).startswith("runs/nothere: no such folder here")
    assert "HF_HUB_OFFLINE=1" in str(err.value)
