"""The runtimes a model is benchmarked in: PyTorch fp32, ONNX fp32 and ONNX int8.

The ONNX files are written by the export code itself (:func:`~gendistiller.export.onnx.
export_onnx`, :func:`~gendistiller.export.quantize.quantize_onnx`) into a folder the
caller owns (a temporary one for ``gendistiller benchmark``), so what is timed is what
``gendistiller export`` ships. An ONNX session is built per thread count: onnxruntime
fixes its intra-op threads when the session is created.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from gendistiller.errors import ConfigError
from gendistiller.export.quantize import DEFAULT_WEIGHT_TYPE

PYTORCH, ONNX, ONNX_INT8 = "pytorch", "onnx", "onnx-int8"
RUNTIMES = (PYTORCH, ONNX, ONNX_INT8)


@dataclass
class Runtime:
    name: str
    build: Callable[[int], Callable[..., Any]]  # threads -> a model(waveforms, lengths)
    file_mb: float | None = None  # the deployed file (ONNX); None for the in-memory model


def check_runtimes(runtimes: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(runtimes))
    unknown = [r for r in chosen if r not in RUNTIMES]
    if unknown:
        raise ConfigError(f"runtimes: unknown {unknown[0]!r} (choose from {', '.join(RUNTIMES)})")
    if PYTORCH not in chosen:
        raise ConfigError("runtimes: must include pytorch (every ratio is to PyTorch fp32)")
    return chosen


def prepare(
    model: Any, runtimes: Sequence[str], folder: Path, int8_weights: str = DEFAULT_WEIGHT_TYPE
) -> dict[str, Runtime]:
    """The runtimes of one model; ONNX files go to ``folder``."""
    out = {PYTORCH: Runtime(PYTORCH, lambda threads: model)}
    if not {ONNX, ONNX_INT8} & set(runtimes):
        return out
    from gendistiller.export.onnx import OnnxModel, export_onnx
    from gendistiller.export.quantize import quantize_onnx

    files = {ONNX: export_onnx(model, folder / "model.onnx")}
    if ONNX_INT8 in runtimes:
        files[ONNX_INT8] = quantize_onnx(
            files[ONNX], folder / "model.int8.onnx", weight_type=int8_weights
        )
    for name, path in files.items():
        if name in runtimes:
            out[name] = Runtime(
                name,
                lambda threads, p=path: OnnxModel(p, threads=threads),
                round(os.path.getsize(path) / 1e6, 2),
            )
    return out


def min_cosine(reference_output: Any, runner: Any, waveforms: Tensor, lengths: Tensor) -> float:
    """Smallest per-layer cosine of ``runner``'s hidden states against the reference's."""
    from gendistiller.export.parity import compare

    report = compare(lambda *_: reference_output, runner, waveforms, lengths)
    return round(report.min_cosine, 6)
