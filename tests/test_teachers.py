import socket

import pytest
import torch
from transformers import BertConfig, BertModel, WavLMConfig, WavLMModel

from gendistiller.errors import TeacherError
from gendistiller.teachers import TINY_TEACHER, Teacher, load_teacher


@pytest.mark.parametrize("model_type", ["wavlm", "hubert", "wav2vec2", "data2vec-audio"])
def test_equals_transformers_hidden_states(model_type):
    teacher = load_teacher(f"random:{model_type}-tiny")
    assert teacher.num_layers == 2 and teacher.hidden_size == 32
    x = torch.randn(2, 8000)
    out = teacher(x)
    with torch.no_grad():
        ref = teacher.model(x, output_hidden_states=True).hidden_states
    assert len(out.hidden_states) == teacher.num_layers + 1
    for a, b in zip(out.hidden_states, ref, strict=True):
        assert torch.equal(a, b)
    assert out.lengths.tolist() == [24, 24]


def test_frozen_and_eval(tiny_teacher):
    tiny_teacher.train()
    assert not tiny_teacher.training and not tiny_teacher.model.training
    assert not any(p.requires_grad for p in tiny_teacher.parameters())
    assert tiny_teacher.config.layerdrop == 0.0


@pytest.mark.parametrize(
    ("spec", "overrides"),
    [
        ("random:wavlm-tiny", {}),
        ("random:wav2vec2-tiny", dict(feat_extract_norm="layer", do_stable_layer_norm=True)),
    ],
)
def test_padding_invariance(spec, overrides, waves):
    teacher = load_teacher(spec, **overrides)
    x, lengths = waves
    batch = teacher(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = teacher(x[i : i + 1, :n])
        t = int(batch.lengths[i])
        for b, a in zip(batch.hidden_states, alone.hidden_states, strict=True):
            torch.testing.assert_close(b[i, :t], a[0], rtol=1e-4, atol=1e-4)
            assert b[i, t:].abs().max() == 0 if b.shape[1] > t else True


def test_group_norm_teachers_would_be_changed_by_padding(waves):
    # Why the wrapper groups by length: feeding the padded batch straight changes outputs.
    teacher = load_teacher("random:wavlm-tiny")
    x, lengths = waves
    with torch.no_grad():
        naive = teacher.model(x, output_hidden_states=True).hidden_states[-1]
    alone = teacher(x[2:3, : lengths[2]]).hidden_states[-1]
    assert not torch.allclose(naive[2, : alone.shape[1]], alone[0], atol=1e-3)


def test_check_layers(tiny_teacher):
    tiny_teacher.check_layers([0, 1, 2])
    with pytest.raises(TeacherError, match="target layer 4 is out of range .* 2 layers"):
        tiny_teacher.check_layers([1, 4])


def test_local_folder_round_trip(tmp_path):
    model = WavLMModel(WavLMConfig(**TINY_TEACHER))
    model.save_pretrained(tmp_path)
    teacher = load_teacher(str(tmp_path))
    for a, b in zip(model.state_dict().values(), teacher.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_not_a_speech_encoder(tmp_path):
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).save_pretrained(tmp_path)
    with pytest.raises(TeacherError, match="'bert' is not a supported speech encoder"):
        load_teacher(str(tmp_path))
    with pytest.raises(TeacherError, match="not a supported speech encoder"):
        Teacher(
            BertModel(
                BertConfig(
                    hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
                )
            )
        )


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(TeacherError, match="no config.json"):
        load_teacher(str(tmp_path))
    with pytest.raises(TeacherError, match="no such folder"):
        load_teacher(str(tmp_path / "missing"))


def test_hub_offline_error_names_the_way_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TeacherError, match="HF_HUB_OFFLINE=1 .* local folder"):
        load_teacher("microsoft/wavlm-base-plus")


def test_hub_unreachable_fails_fast(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # empty cache

    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(TeacherError, match="cannot reach the Hugging Face hub .* HF_HUB_OFFLINE=1"):
        load_teacher("microsoft/wavlm-base-plus")


def test_random_spec_errors():
    with pytest.raises(TeacherError, match="unknown encoder type 'bert'"):
        load_teacher("random:bert")
    with pytest.raises(TeacherError, match="overrides apply to random"):
        load_teacher("microsoft/wavlm-base-plus", hidden_size=3)
