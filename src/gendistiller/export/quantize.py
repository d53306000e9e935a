"""int8: dynamic quantisation of an exported model with onnxruntime's quantiser.

Weights are stored as 8-bit integers, activations are quantised on the fly per tensor.
The default quantises the transformer's matrix products *and* the convolutions: the
convolutional waveform encoder holds a quarter of a GenDistiller student's weights, the
positional convolution another quarter, and the encoder does most of the arithmetic, so
leaving convolutions in float keeps the file at two thirds of fp32 size and most of the
time. The first convolution, which reads the raw waveform (a few thousand weights), stays
in float: 8-bit waveforms lose more than 8-bit features. So does the signal processing of
a log-mel front-end, every product that feeds a ``Log`` (the DFT convolution and the mel
filterbank): a power spectrum spans ten orders of magnitude, which one 8-bit scale per
tensor cannot hold, and those products are a few MACs per sample anyway.

Weight types (docs/export.md, "int8"): onnxruntime's CPU kernels are fast for signed
weights in matrix products (U8S8, VNNI) but slow for signed weights in convolutions
(``ConvInteger`` has no fast signed path), so the default, ``"mixed"``, stores matrix
products' weights signed and convolutions' unsigned. ``"uint8"`` (all unsigned)
measured faster on an AVX2 CPU without VNNI; ``"int8"`` is all signed. The quantiser's
pre-processing folds constant subgraphs (transposed linear weights) first, so every
weight is visible to it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gendistiller.errors import ConfigError

#: Weight types: matrix products' and convolutions' (see the module's docstring).
WEIGHT_TYPES = ("mixed", "uint8", "int8")
DEFAULT_WEIGHT_TYPE = "mixed"
_PRODUCTS, _CONVS = ["MatMul", "Gemm"], ["Conv"]


def quantize_onnx(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    weight_type: str = DEFAULT_WEIGHT_TYPE,
    conv: bool = True,
    per_channel: bool = False,
) -> Path:
    """Write an int8 version of the fp32 model ``src`` to ``dst``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if weight_type not in WEIGHT_TYPES:
        raise ConfigError(
            f"weight_type must be one of {', '.join(WEIGHT_TYPES)}, got {weight_type!r}"
        )
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=".quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Symbolic shape inference is for transformer-specific fusions we do not use.
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared), load_external_data=False)
        exclude = sorted(set(_waveform_convs(model)) | set(_before_log(model)))
        products = QuantType.QUInt8 if weight_type == "uint8" else QuantType.QInt8
        convs = QuantType.QInt8 if weight_type == "int8" else QuantType.QUInt8
        # One pass per weight type: the quantiser takes one type per call, and a pass
        # leaves the nodes of other op types (and the excluded ones) as they were.
        passes = [(_PRODUCTS, products)] + ([(_CONVS, convs)] if conv else [])
        if products == convs:
            passes = [(sum((ops for ops, _ in passes), []), products)]
        current = prepared
        for i, (ops, qtype) in enumerate(passes):
            target = dst if i == len(passes) - 1 else Path(tmp) / f"pass{i}.onnx"
            quantize_dynamic(current, target, weight_type=qtype, per_channel=per_channel,
                             op_types_to_quantize=ops, nodes_to_exclude=exclude)  # fmt: skip
            current = target
    ops = _PRODUCTS + (_CONVS if conv else [])
    _copy_metadata(src, dst, {"quantization": f"dynamic {weight_type} ({', '.join(ops)})"})
    return dst


def _waveform_convs(model) -> list[str]:
    """Names of the Conv nodes fed by a single-channel (raw waveform) input."""
    weights = {init.name: init for init in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type == "Conv" and node.input[1] in weights:
            shape = list(weights[node.input[1]].dims)
            if len(shape) >= 2 and shape[1] == 1 and _group(node) == 1:
                names.append(node.name)
    return names


def _before_log(model) -> list[str]:
    """Names of the nodes a ``Log`` node depends on (none in a conv front-end's graph)."""
    producer = {out: node for node in model.graph.node for out in node.output}
    todo = [node for node in model.graph.node if node.op_type == "Log"]
    seen: dict[str, object] = {}
    while todo:
        node = todo.pop()
        for name in node.input:
            parent = producer.get(name)
            if parent is not None and parent.name not in seen:
                seen[parent.name] = parent
                todo.append(parent)
    return sorted(seen)


def _group(node) -> int:
    for attr in node.attribute:
        if attr.name == "group":
            return int(attr.i)
    return 1


def _copy_metadata(src: Path, dst: Path, extra: dict[str, str]) -> None:
    import onnx

    source = onnx.load(str(src), load_external_data=False)
    target = onnx.load(str(dst))
    props = {p.key: p.value for p in source.metadata_props} | {
        p.key: p.value for p in target.metadata_props
    }
    props |= extra
    onnx.helper.set_model_props(target, props)
    onnx.save(target, str(dst))
