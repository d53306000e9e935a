import pytest
import torch
from transformers import HubertConfig

from gendistiller.errors import TeacherError
from gendistiller.students import build_student
from gendistiller.teachers import TINY_TEACHER, Teacher, load_teacher


def test_shape_and_heads(waves):
    model = build_student("distilhubert-tiny").eval()
    x, lengths = waves
    with torch.no_grad():
        out = model(x, lengths)
    assert len(out.hidden_states) == 3 == model.num_hidden_states
    assert len(out.predictions) == len(model.config.target_layers)
    assert out.lengths.tolist() == ((lengths - 400) // 320 + 1).tolist()
    heads = sum(p.numel() for p in model.prediction_heads.parameters())
    assert model.parameter_count(training=True) - model.parameter_count() == heads > 0


# Padding invariance, for every front-end: tests/students/test_frontend.py.


def test_init_from_hubert_teacher_reproduces_its_first_layers(waves):
    # With the teacher's feature LayerNorm kept, an initialised student *is* the teacher's
    # first two blocks: this checks our blocks compute what transformers' HuBERT computes.
    teacher = Teacher.from_config(HubertConfig(**TINY_TEACHER), seed=3)
    student = build_student("distilhubert-tiny", feature_layer_norm=True).eval()
    copied = student.init_from_teacher(teacher)
    assert any(k.startswith("layers.1.") for k in copied)
    x, _ = waves
    with torch.no_grad():
        t = teacher(x)
        s = student(x)
    for k in range(3):
        torch.testing.assert_close(s.hidden_states[k], t.hidden_states[k], rtol=1e-4, atol=1e-4)


def test_init_from_teacher_rejects_mismatched_shapes():
    teacher = load_teacher("random:hubert-tiny", hidden_size=64, num_attention_heads=2)
    student = build_student("distilhubert-tiny")
    with pytest.raises(TeacherError, match="shape"):
        student.init_from_teacher(teacher)


def test_init_from_teacher_rejects_layer_norm_frontends():
    teacher = load_teacher(
        "random:wav2vec2-tiny", feat_extract_norm="layer", do_stable_layer_norm=True
    )
    with pytest.raises(TeacherError, match="layer norm"):
        build_student("gendistiller-tiny").init_from_teacher(teacher)


def test_gendistiller_init_uses_teacher_blocks(tiny_teacher):
    student = build_student("gendistiller-tiny", shared_weights=False)
    copied = student.init_from_teacher(tiny_teacher)
    q0 = tiny_teacher.model.encoder.layers[0].attention.q_proj.weight
    q1 = tiny_teacher.model.encoder.layers[1].attention.q_proj.weight
    torch.testing.assert_close(student.generator.blocks[0].attention.q_proj.weight, q0)
    torch.testing.assert_close(student.generator.blocks[1].attention.q_proj.weight, q1)
    assert "frontend.feature_extractor.conv_layers.0.conv.weight" in copied


@pytest.mark.parametrize("name", ["gendistiller-fast", "distilhubert-fast"])
def test_a_fast_student_takes_all_but_its_light_front_end_from_the_teacher(name):
    from gendistiller.students.presets import scaled_to_teacher

    longer = {**TINY_TEACHER, "num_conv_pos_embeddings": 64}  # than the preset's 32 taps
    teacher = Teacher.from_config(HubertConfig(**longer), seed=3)
    student = build_student(scaled_to_teacher(name, teacher.model.config))
    copied = student.init_from_teacher(teacher)
    assert not any(k.startswith("frontend.feature_extractor.") for k in copied)
    assert "frontend.feature_projection.projection.weight" in copied
    # A shorter positional convolution takes the teacher's centre taps.
    ours = student.frontend.pos_conv_embed.conv.weight
    theirs = teacher.model.encoder.pos_conv_embed.conv.weight
    k, big = ours.shape[-1], theirs.shape[-1]
    assert k < big
    torch.testing.assert_close(ours, theirs[..., big // 2 - k // 2 : big // 2 - k // 2 + k])


def test_exposed_prediction_heads_follow_the_layers_and_are_part_of_the_model(waves):
    torch.manual_seed(0)
    paper = build_student("distilhubert-tiny").eval()
    exposed = build_student("distilhubert-tiny", expose_prediction_heads=True).eval()
    exposed.load_state_dict(paper.state_dict())
    x, lengths = waves
    with torch.no_grad():
        a, b = paper(x, lengths), exposed(x, lengths)
    n = len(paper.config.target_layers)
    assert len(b.hidden_states) == 3 + n == exposed.num_hidden_states
    for p, q in zip(b.hidden_states, [*a.hidden_states, *a.predictions], strict=True):
        assert torch.equal(p, q)
    assert exposed.state_targets == [None, None, None, *paper.config.target_layers]
    assert exposed.state_names[3:] == [f"p{t}" for t in paper.config.target_layers]
    assert paper.state_targets == [None] * 3 and paper.state_names == ["x0", "h1", "h2"]
    # deployed with the model now: counted, and shipped with its code (no HubertModel)
    assert exposed.parameter_count() == paper.parameter_count(training=True)
    assert (paper.export_kind, exposed.export_kind) == ("hubert", "remote_code")


def test_expose_prediction_heads_must_be_a_bool():
    from gendistiller.errors import ConfigError

    with pytest.raises(ConfigError, match="expose_prediction_heads must be true or false"):
        build_student("distilhubert-tiny", expose_prediction_heads="yes")
