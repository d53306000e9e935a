import pytest
import torch

from gendistiller.errors import ConfigError
from gendistiller.students import build_student, get_preset


def _count(name: str, deployed: bool) -> int:
    with torch.device("meta"):
        return build_student(name).parameter_count(training=not deployed)


@pytest.mark.parametrize(
    ("name", "deployed", "millions"),
    [
        ("gendistiller-base", True, 16.99),
        ("distilhubert-base", True, 23.49),
        ("distilhubert-base", False, 27.03),
    ],
)
def test_paper_parameter_counts(name, deployed, millions):
    count = _count(name, deployed)
    assert abs(count / 1e6 - millions) / millions <= 0.01, count


def test_the_paper_front_end_is_unchanged():
    # The conv front-end keeps the parameter names of transformers' HuBERT (and so the
    # teacher's and the exports'); no option adds a tensor to the paper's students.
    with torch.device("meta"):
        names = set(build_student("gendistiller-base").state_dict())
    front = {n for n in names if n.startswith("frontend.")}
    assert {n.split(".")[1] for n in front} == {
        "feature_extractor", "feature_projection", "pos_conv_embed", "layer_norm"
    }  # fmt: skip
    assert all(n.startswith(("frontend.", "generator.")) for n in names)
    assert sum(n.startswith("frontend.feature_extractor.conv_layers.") for n in names) == 7 + 2


@pytest.mark.parametrize("kind", ["gendistiller", "distilhubert"])
def test_fast_presets_are_smaller_and_cheaper_than_the_paper_ones(kind):
    from gendistiller.measure import count_macs

    with torch.device("meta"):
        fast, paper = build_student(f"{kind}-fast"), build_student(f"{kind}-base")
    assert fast.parameter_count() < paper.parameter_count()
    assert fast.hidden_size == paper.hidden_size == 768
    assert fast.num_hidden_states == paper.num_hidden_states
    torch.manual_seed(0)
    fast, paper = build_student(f"{kind}-fast").eval(), build_student(f"{kind}-base").eval()
    assert count_macs(fast, 1.0) < 0.4 * count_macs(paper, 1.0)


def test_gendistiller_is_about_two_thirds_of_the_baseline_with_heads():
    ratio = _count("gendistiller-base", True) / _count("distilhubert-base", False)
    assert 0.6 < ratio < 0.67


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"history": "future"}, "history"),
        ({"target_layers": [8, 4]}, "target_layers"),
        ({"target_layers": [0, 4]}, "target_layers"),
        ({"hidden_size": 100}, "num_attention_heads"),
        ({"teacher_forcing_ratio": 1.5}, "teacher_forcing_ratio"),
        ({"hidden_dropout": 1.0}, "hidden_dropout"),
        ({"no_such_key": 1}, "no_such_key"),
        ({"conv_kernel": [10, 3]}, "conv_kernel"),
    ],
)
def test_bad_configs_name_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key):
        get_preset("gendistiller-base", **overrides)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown student preset"):
        get_preset("gendistiller-huge")


def test_scaling_to_a_base_teacher_gives_the_base_presets():
    from transformers import WavLMConfig

    from gendistiller.students.presets import scaled_to_teacher

    for name in (
        "gendistiller-base",
        "distilhubert-base",
        "gendistiller-fast",
        "distilhubert-fast",
    ):
        scaled = scaled_to_teacher(name, WavLMConfig())
        assert scaled.to_dict() == get_preset(name).to_dict()


def test_scaling_to_a_small_teacher_keeps_the_proportions():
    from transformers import HubertConfig

    from gendistiller.students.presets import scaled_to_teacher, thirds

    teacher = HubertConfig(
        hidden_size=256,
        num_hidden_layers=6,
        num_attention_heads=4,
        intermediate_size=1024,
        conv_dim=(128,) * 7,
    )
    gen = scaled_to_teacher("gendistiller-base", teacher)
    base = scaled_to_teacher("distilhubert-base", teacher, num_hidden_layers=2)
    assert (
        gen.target_layers == [2, 4, 6] == thirds(6)
        and gen.hidden_size == 256
        and gen.conv_dim == [128] * 7
    )
    with torch.device("meta"):
        ratio = build_student(gen).parameter_count() / build_student(base).parameter_count(
            training=True
        )
    assert 0.55 < ratio < 0.75
    assert thirds(4) == [1, 3, 4] and thirds(1) == [1]


@pytest.mark.parametrize("name", ["gendistiller-fast", "distilhubert-fast"])
def test_scaling_a_fast_preset_keeps_its_choices(name):
    from gendistiller.students.presets import scaled_to_teacher
    from gendistiller.teachers import teacher_config

    teacher = teacher_config("embedded")  # 256-d, 6 layers, a 128-channel CNN
    scaled = scaled_to_teacher(name, teacher)
    assert scaled.hidden_size == 256 and scaled.target_layers == [2, 4, 6]
    assert scaled.frontend == "fbank" and scaled.transformer_stride == 2
    assert scaled.fbank_conv_dim == [128, 128]  # the teacher's CNN width: its projection fits
    assert scaled.num_conv_pos_embeddings == 32 != teacher.num_conv_pos_embeddings
