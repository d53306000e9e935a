"""MACs against a hand count from the config, parameter counts, machine info."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from gendistiller.encoders import load_encoder
from gendistiller.measure import count_macs, machine_info, macs_by_op, parameter_count


def conv_stack_macs(config, samples: int) -> tuple[int, int]:
    """MACs of the waveform CNN described by the config, and the frames it gives."""
    total, frames, channels = 0, samples, 1
    for dim, kernel, stride in zip(
        config.conv_dim, config.conv_kernel, config.conv_stride, strict=True
    ):
        frames = (frames - kernel) // stride + 1
        total += dim * channels * kernel * frames
        channels = dim
    return total, frames


class TinyEncoder(nn.Module):
    """A waveform CNN, a projection and ``layers`` feed-forward blocks, built from a config."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        convs, channels = [], 1
        for dim, kernel, stride in zip(
            config.conv_dim, config.conv_kernel, config.conv_stride, strict=True
        ):
            convs += [nn.Conv1d(channels, dim, kernel, stride, bias=False), nn.GELU()]
            channels = dim
        self.cnn = nn.Sequential(*convs)
        self.proj = nn.Linear(channels, config.hidden_size)
        self.ffn = nn.ModuleList(
            nn.Sequential(nn.Linear(config.hidden_size, config.intermediate_size), nn.GELU(),
                          nn.Linear(config.intermediate_size, config.hidden_size))
            for _ in range(config.num_hidden_layers)
        )  # fmt: skip

    def forward(self, waveforms, lengths=None):
        x = self.proj(self.cnn(waveforms[:, None]).transpose(1, 2))
        states = [x]
        for block in self.ffn:
            states.append(block(states[-1]))
        return SimpleNamespace(hidden_states=states)


def test_macs_match_a_hand_count_from_the_config():
    config = SimpleNamespace(conv_dim=[8, 16], conv_kernel=[10, 3], conv_stride=[5, 2],
                             hidden_size=12, intermediate_size=20, num_hidden_layers=3)  # fmt: skip
    conv, frames = conv_stack_macs(config, 16000)
    h, f = config.hidden_size, config.intermediate_size
    matmul = frames * (config.conv_dim[-1] * h + config.num_hidden_layers * 2 * h * f)
    by_op = macs_by_op(TinyEncoder(config), 1.0)
    assert by_op == {"convolution": conv, "matmul": matmul, "attention": 0}
    assert count_macs(TinyEncoder(config), 2.0) == sum(
        macs_by_op(TinyEncoder(config), 2.0).values()
    )


def test_student_convolutions_are_the_configured_cnn_and_positional_conv():
    student = load_encoder("gendistiller-tiny")
    c = student.config
    cnn, frames = conv_stack_macs(c, 16000)
    k, groups = c.num_conv_pos_embeddings, c.num_conv_pos_embedding_groups
    positional = c.hidden_size * (c.hidden_size // groups) * k * (frames + 2 * (k // 2) - k + 1)
    assert macs_by_op(student, 1.0)["convolution"] == cnn + positional


def test_parameter_count_prefers_the_encoder_interface():
    class WithCount(nn.Linear):
        def parameter_count(self, training=False):
            return 7 if not training else 9

    assert parameter_count(WithCount(2, 2)) == 7
    assert parameter_count(nn.Linear(3, 2)) == 8  # no method of its own: every parameter
    student = load_encoder("distilhubert-tiny")
    everything = sum(p.numel() for p in student.parameters())
    assert 0 < parameter_count(student) < everything  # prediction heads excluded


def test_machine_info_keys():
    info = machine_info(1)
    assert {"cpu", "cores", "threads", "torch", "onnxruntime", "python", "platform",
            "load_average_before"} <= set(info)  # fmt: skip
    assert info["threads"] == 1 and info["cores"] >= 1 and info["cpu"]
    assert machine_info()["threads"] == torch.get_num_threads()
