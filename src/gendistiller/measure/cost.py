"""What a model costs regardless of the machine: parameters and MACs per second of audio.

MACs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass of
the model itself (``model(waveforms, lengths)``), so every encoder is counted the same way
whatever its architecture: matrix products, convolutions and attention (MACs = FLOPs / 2);
elementwise work (norms, activations, softmax) is not counted. An exported ONNX model does
the same arithmetic as the PyTorch model it came from.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from gendistiller.audio import SAMPLE_RATE

OPS = ("convolution", "matmul", "attention")


def parameter_count(model: Any) -> int:
    """Parameters used at inference (a student's training-only heads excluded)."""
    if hasattr(model, "parameter_count"):  # every encoder (gendistiller.encoders)
        return int(model.parameter_count(training=False))
    return sum(p.numel() for p in model.parameters())  # any other module: all of them


def macs_by_op(model: Any, seconds: float) -> dict[str, int]:
    """MACs of one forward pass on ``seconds`` of audio (batch 1) by operator:
    ``convolution`` (the waveform front-end and the positional convolution), ``matmul``
    (linear layers) and ``attention`` (scores and mixing: batched products and
    scaled-dot-product kernels)."""
    n = int(seconds * SAMPLE_RATE)
    wave, lengths = torch.zeros(1, n), torch.tensor([n])
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FLOPS)
    with counter, torch.no_grad():
        model(wave, lengths)
    out = dict.fromkeys(OPS, 0)
    for op, flops in counter.get_flop_counts()["Global"].items():
        name = str(op)
        # Batched products are the attention scores and mixing (transformers' eager
        # attention); the SDPA kernels are attention too; mm/addmm are linear layers.
        if "convolution" in name:
            kind = "convolution"
        elif "attention" in name or "bmm" in name:
            kind = "attention"
        else:
            kind = "matmul"
        out[kind] += int(flops // 2)
    return out


def count_macs(model: Any, seconds: float) -> int:
    """MACs of one forward pass on ``seconds`` of audio (batch 1)."""
    return sum(macs_by_op(model, seconds).values())


def _sdpa_cpu_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    # The CPU kernel of scaled_dot_product_attention, which FlopCounterMode lacks:
    # Q K^T and A V, 2 FLOPs per MAC.
    b, h, s_q, d = query
    s_k = key[-2]
    return 2 * 2 * b * h * s_q * s_k * d


EXTRA_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops}
