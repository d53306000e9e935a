"""The benchmark: every field, MACs counted (attention included), ratios and targets."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from gendistiller.cli import main
from gendistiller.errors import ConfigError
from gendistiller.evaluation.benchmark import BenchmarkConfig
from gendistiller.evaluation.efficiency import benchmark, load_upstreams
from gendistiller.evaluation.report import efficiency_table
from gendistiller.measure import count_macs
from gendistiller.measure.cost import EXTRA_FLOPS as _EXTRA_FLOPS

MODEL_FIELDS = {
    "name", "spec", "kind", "architecture", "model_type", "frontend", "parameters", "hidden_states", "hidden_size", "macs",
    "macs_per_second", "macs_by_op", "latency_ms", "latency_runs_ms", "rtf", "peak_rss_mib", "peak_rss_delta_mib", "ratios",
}  # fmt: skip


def test_cpu_attention_is_counted():
    q = k = v = torch.randn(2, 3, 7, 4)
    counter = FlopCounterMode(display=False, custom_mapping=_EXTRA_FLOPS)
    with counter:
        F.scaled_dot_product_attention(q, k, v)
    assert counter.get_total_flops() == 2 * (2 * 2 * 3 * 7 * 7 * 4)  # QK^T and AV


def test_macs_grow_with_the_input_and_count_every_layer():
    ups = load_upstreams({"t": "random:wavlm-tiny", "s": "gendistiller-tiny"})
    for up in ups.values():
        one, ten = count_macs(up, 1), count_macs(up, 10)
        assert 9 * one < ten < 20 * one  # linear (conv, FFN) + quadratic (attention)
    # The student's three steps and its conv front-end, at least: 7 convolutions over the waveform.
    student = ups["s"].model
    conv = student.frontend.feature_extractor.conv_layers[0].conv
    first_layer = conv.out_channels * conv.kernel_size[0] * ((16000 - 10) // 5 + 1)
    assert count_macs(ups["s"], 1) > first_layer


@pytest.fixture(scope="module")
def bench():
    specs = {
        "teacher": "random:wavlm-tiny",
        "gen": "gendistiller-tiny",
        "distil": "distilhubert-tiny",
    }
    return benchmark(load_upstreams(specs), repeats=2, memory=True, progress=False)


def test_benchmark_json_carries_every_field(bench):
    json.loads(json.dumps(bench))  # plain JSON
    assert set(bench) >= {
        "machine",
        "threads",
        "repeats",
        "seconds",
        "reference",
        "models",
        "targets",
    }
    assert bench["reference"] == "teacher" and bench["threads"] == torch.get_num_threads()
    assert {"cpu", "cores", "threads", "torch", "load_average_before", "load_average_after"} <= set(
        bench["machine"]
    )
    for name, m in bench["models"].items():
        assert set(m) == MODEL_FIELDS, name
        assert m["parameters"] > 0 and m["macs_per_second"] > 0
        assert (
            sum(m["macs_by_op"].values()) == m["macs"]["10"] and min(m["macs_by_op"].values()) > 0
        )
        assert set(m["latency_ms"]) == {"1", "10"} and all(
            len(v) == 2 for v in m["latency_runs_ms"].values()
        )
        assert m["rtf"] == pytest.approx(
            m["latency_ms"]["10"] / 10_000, abs=1e-4
        )  # rounded to 4 places
        assert m["peak_rss_mib"] > m["peak_rss_delta_mib"] >= 0
        assert set(m["ratios"]) == {"parameters", "macs", "latency_1s", "latency_10s"}
    assert bench["models"]["teacher"]["ratios"]["latency_10s"] == 1.0
    assert bench["targets"] == []  # stated for 768-d models only
    table = efficiency_table(bench)
    assert table.count("\n| ") >= 4 and "gen (student)" in table and "threads" in table


def test_benchmark_cli_writes_json_table_and_chart(tmp_path, capsys):
    code = main(
        [
            "benchmark",
            "t=random:hubert-tiny",
            "s=distilhubert-tiny",
            "--repeats",
            "1",
            "--no-memory",
            "--runtimes",
            "pytorch",
            "--seconds",
            "1,10",
            "--json",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["models"]) == {"t", "s"} and printed["models"]["s"]["peak_rss_mib"] is None
    assert json.loads((tmp_path / "benchmark.json").read_text())["models"]["t"]["kind"] == "teacher"
    assert (tmp_path / "benchmark.png").read_bytes()[:4] == b"\x89PNG"
    assert "| s (student) |" in (tmp_path / "benchmark.md").read_text()


def test_benchmark_cli_times_every_runtime_with_ratios_to_the_teacher(capsys):
    code = main(["benchmark", "t=random:hubert-tiny", "s=gendistiller-tiny", "--runtimes",
                 "pytorch,onnx,onnx-int8", "--threads", "1", "--seconds", "1", "--repeats", "1",
                 "--no-memory", "--json", "--quiet"])  # fmt: skip
    assert code == 0
    bench = json.loads(capsys.readouterr().out)
    rows = {(r["model"], r["runtime"]): r for r in bench["rows"]}
    assert set(rows) == {(m, rt) for m in ("t", "s") for rt in ("pytorch", "onnx", "onnx-int8")}
    ref = rows[("t", "pytorch")]["median_ms"]
    for (_model, runtime), r in rows.items():
        assert r["threads"] == 1 and r["seconds"] == 1 and len(r["runs_ms"]) == 1
        assert r["vs_reference"] == pytest.approx(r["median_ms"] / ref, abs=1e-4)
        if runtime == "pytorch":
            assert r["file_mb"] is None and r["min_cosine"] is None
        else:
            assert r["file_mb"] > 0 and 0.9 < r["min_cosine"] <= 1.0 + 1e-6
    assert rows[("s", "onnx-int8")]["file_mb"] < rows[("s", "onnx")]["file_mb"]
    assert rows[("s", "onnx")]["min_cosine"] > 0.9999  # fp32: the same arithmetic
    assert bench["models"]["s"]["latency_ms"]["1"] == round(rows[("s", "pytorch")]["median_ms"], 2)


def test_benchmark_config_validates_and_names_the_key():
    cfg = BenchmarkConfig(threads="1,2", runtimes="pytorch,onnx", seconds="10")
    assert cfg.threads == [1, 2] and cfg.runtimes == ["pytorch", "onnx"] and cfg.seconds == [10.0]
    with pytest.raises(ConfigError, match="runtimes"):
        BenchmarkConfig(runtimes="onnx")  # no PyTorch baseline
    with pytest.raises(ConfigError, match="threads"):
        BenchmarkConfig(threads="0")
    with pytest.raises(ConfigError, match="repeats"):
        BenchmarkConfig(repeats=0)
    with pytest.raises(ConfigError, match="int8_weights"):
        BenchmarkConfig(int8_weights="int4")
    with pytest.raises(ConfigError, match="teacher: no model named 'nope'"):
        BenchmarkConfig(teacher="nope")
