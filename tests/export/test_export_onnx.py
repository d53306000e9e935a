"""ONNX export, onnxruntime parity, int8 quantisation, and the `export` command's checks."""

import json

import numpy as np
import onnx
import pytest
import torch

from gendistiller.cli import main
from gendistiller.errors import CheckpointError
from gendistiller.export.cli import INT8_COSINE, PARITY_COSINE, export_student
from gendistiller.export.onnx import OnnxModel
from gendistiller.export.parity import compare, synthetic_batch
from gendistiller.export.quantize import quantize_onnx
from gendistiller.students import build_student

#: The architectural switches beyond the paper (docs/method.md), which the graph must hold.
BEYOND = {
    "beyond": dict(step_embedding=True, per_step_output_projection=True, expose_block_outputs=True),
    "adapters": dict(output_adapter_rank=4),
}


@pytest.fixture(
    scope="module",
    params=[
        "gendistiller-tiny",
        "gendistiller-fast-tiny",
        "gendistiller-tiny+beyond",
        "gendistiller-tiny+adapters",
    ],
)
def shipped(request, tmp_path_factory):
    """A GenDistiller student, the paper's, the fast one (its log-mel front-end in the
    graph: waveform in, hidden states out), one with the step embedding and per-step
    output projections and one with output adapters, exported once to fp32 and int8 ONNX."""
    torch.manual_seed(0)
    preset, _, beyond = request.param.partition("+")
    student = build_student(preset, **BEYOND.get(beyond, {})).eval()
    with torch.no_grad():  # off their zero start, so that a graph without them would differ
        if student.generator.step_embedding is not None:
            student.generator.step_embedding.normal_(0.0, 0.5)
        for adapter in student.generator.output_adapters or ():
            adapter.up.normal_(0.0, 0.5)
    if student.frame_rate is not None:  # off the initial mean/repeat, so merging shows
        with torch.no_grad():
            for p in student.frame_rate.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    out = tmp_path_factory.mktemp("onnx")
    report = export_student(student, out, "onnx-int8")
    return student, out, report


@pytest.mark.parametrize("seconds", [[1.0], [3.7], [3.7, 1.0]], ids=["1s", "3.7s", "padded-batch"])
def test_onnxruntime_matches_pytorch(shipped, seconds):
    student, out, _ = shipped
    waves, lengths = synthetic_batch(seconds, seed=7)
    report = compare(student, OnnxModel(out / "model.onnx"), waves, lengths)
    assert len(report.layers) == student.num_hidden_states
    assert report.min_cosine >= PARITY_COSINE
    assert report.max_abs_diff < 1e-4


def test_outputs_are_named_and_axes_dynamic(shipped):
    student, out, _ = shipped
    model = OnnxModel(out / "model.onnx")
    assert model.input_names == ["waveforms", "lengths"]
    outputs = [o.name for o in model.session.get_outputs()]
    assert outputs == [f"hidden_state_{i}" for i in range(student.num_hidden_states)] + [
        "frame_lengths"
    ]
    for o in model.session.get_outputs()[:-1]:
        assert isinstance(o.shape[0], str) and isinstance(
            o.shape[1], str
        )  # symbolic batch and time


def test_input_shorter_than_the_export_minimum_is_padded_exactly(shipped):
    student, out, _ = shipped
    model = OnnxModel(out / "model.onnx")
    assert model.min_samples == 720
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 500)).astype(np.float32))
    got = model(wave)
    with torch.no_grad():
        ref = student(wave)
    assert got.lengths.tolist() == ref.lengths.tolist() == [1]
    for a, b in zip(ref.hidden_states, got.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


def test_int8_model_loads_runs_and_stays_close(shipped):
    student, out, report = shipped
    int8 = OnnxModel(out / "model.int8.onnx")
    waves, lengths = synthetic_batch([2.5, 1.2], seed=3)
    got = int8(waves, lengths)
    assert [s.shape for s in got.hidden_states] == [
        s.shape for s in student(waves, lengths).hidden_states
    ]
    assert all(torch.isfinite(s).all() for s in got.hidden_states)
    fidelity = compare(student, int8, waves, lengths)
    assert fidelity.min_cosine >= INT8_COSINE
    assert fidelity.max_abs_diff > 1e-4  # it really is quantised, not a copy of fp32
    assert (out / "model.int8.onnx").stat().st_size < (out / "model.onnx").stat().st_size
    # A tiny model's file is mostly graph, so its size ratio says little (the full-size
    # ratio is in docs/benchmarks.md); count where the weights' elements are stored instead.
    fixed = set()
    if student.config.frontend == "fbank":  # its DFT and mel matrices stay float by design
        fixed = {f"student.frontend.feature_extractor.fbank.{n}" for n in ("dft", "mel")}
    elements = {}
    for init in onnx.load(str(out / "model.int8.onnx")).graph.initializer:
        if init.name in fixed:
            assert init.data_type == onnx.TensorProto.FLOAT, init.name
            fixed.remove(init.name)
            continue
        elements[init.data_type] = elements.get(init.data_type, 0) + int(np.prod(init.dims))
    assert not fixed  # both found
    eight_bit = elements.get(onnx.TensorProto.INT8, 0) + elements.get(onnx.TensorProto.UINT8, 0)
    assert eight_bit / sum(elements.values()) > 0.95


#: The quantised ops, by what their weights multiply: matrix products and convolutions.
_PRODUCT_OPS = {"DynamicQuantizeMatMul", "MatMulInteger", "MatMulIntegerToFloat"}
_S8, _U8 = onnx.TensorProto.INT8, onnx.TensorProto.UINT8


def _weight_types(path) -> dict[str, set[int]]:
    graph = onnx.load(str(path)).graph
    types = {init.name: init.data_type for init in graph.initializer}
    found: dict[str, set[int]] = {"products": set(), "convs": set()}
    for node in graph.node:
        kind = "products" if node.op_type in _PRODUCT_OPS else "convs"
        if node.op_type in _PRODUCT_OPS | {"ConvInteger"} and node.input[1] in types:
            found[kind].add(types[node.input[1]])
    return found


@pytest.mark.parametrize(
    ("weight_type", "products", "convs"),
    [("mixed", {_S8}, {_U8}), ("uint8", {_U8}, {_U8}), ("int8", {_S8}, {_S8})],
)
def test_weight_types_per_op(shipped, tmp_path, weight_type, products, convs):
    """``mixed`` (the default) stores the products' weights signed, where onnxruntime's
    kernels are fast, and the convolutions' unsigned, where its signed kernel is slow."""
    student, out, _ = shipped
    int8 = quantize_onnx(out / "model.onnx", tmp_path / "model.int8.onnx", weight_type=weight_type)
    assert _weight_types(int8) == {"products": products, "convs": convs}
    assert (
        compare(student, OnnxModel(int8), *synthetic_batch([1.5], seed=2)).min_cosine >= INT8_COSINE
    )


def test_report_records_the_checks(shipped):
    student, out, report = shipped
    saved = json.loads((out / "export.json").read_text())
    assert saved["parity"]["min_cosine"] >= PARITY_COSINE
    assert len(saved["int8"]["layers"]) == student.num_hidden_states
    assert all(1.0 <= s <= 20.0 for s in saved["parity"]["seconds"])
    assert saved["int8"]["speed"]["int8_seconds"] > 0
    assert saved["size_ratio"] == pytest.approx(
        (out / "model.int8.onnx").stat().st_size / (out / "model.onnx").stat().st_size
    )


def test_onnx_model_refuses_files_that_are_not_models(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        OnnxModel(bad)
    with pytest.raises(CheckpointError, match="no such ONNX file"):
        OnnxModel(tmp_path / "missing.onnx")


def test_export_command_transformers_and_errors(tmp_path, capsys):
    student = build_student("distilhubert-tiny")
    student.save_pretrained(tmp_path / "student")
    assert main(["export", str(tmp_path / "student"), str(tmp_path / "out")]) == 0
    assert "reloaded: max |diff|" in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "export.json").read_text())
    assert report["format"] == "transformers" and report["reload_max_abs_diff"] <= 1e-5
    assert main(["export", str(tmp_path / "nope"), str(tmp_path / "out2")]) == 2
    assert "no such folder" in capsys.readouterr().err
