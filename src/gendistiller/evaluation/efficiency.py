"""What a model costs to run: parameters, MACs, CPU latency per runtime, RTF, peak memory.

How each figure is measured (also in docs/evaluation.md); every one comes from
:mod:`gendistiller.measure`:

- parameters: those used at inference (a student's training-only heads excluded);
- MACs: counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass
  (matrix products, convolutions and attention; MACs = FLOPs / 2); elementwise work is
  not counted. Reported per second of audio, from the longest input;
- latency: wall time of one forward pass (batch 1, no_grad, float32 input, a
  deterministic speech-like signal) per runtime (PyTorch fp32, ONNX fp32, ONNX int8), input
  length and thread count: median of ``repeats`` runs after a warm-up, min and max kept.
  All models and runtimes of one thread count are timed in one round-robin, so a burst of
  load from elsewhere hits every model alike, and every row gets its ratio to the
  reference's (the teacher's) PyTorch fp32 time in the same round;
- real-time factor: latency on the longest input / its duration;
- peak memory: peak resident set of a fresh child process that loads the model and runs
  the longest input (:func:`gendistiller.measure.peak_memory`).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from gendistiller.encoders import load_encoder
from gendistiller.evaluation.runtimes import PYTORCH, check_runtimes, min_cosine, prepare
from gendistiller.evaluation.superb import STUDENT, TEACHER, Upstream, load_upstream
from gendistiller.export.parity import synthetic_batch
from gendistiller.export.quantize import DEFAULT_WEIGHT_TYPE
from gendistiller.measure import (
    check_targets,
    forward,
    machine_info,
    macs_by_op,
    parameter_count,
    peak_memory,
    time_calls,
)
from gendistiller.measure.machine import load_average

SECONDS = (1, 10)
LOADER = "gendistiller.evaluation.efficiency:load_model"


@dataclass
class ModelCost:
    name: str
    spec: str
    kind: str  # student | teacher
    architecture: str
    model_type: str
    frontend: str  # a student's front-end ("conv", "fbank"); "" for other encoders
    parameters: int
    hidden_states: int
    hidden_size: int
    macs: dict[str, int]  # input seconds -> MACs of one forward pass
    macs_per_second: float  # from the longest input
    macs_by_op: dict[str, int]  # of the longest input: convolution, matmul, attention
    latency_ms: dict[str, float]  # input seconds -> median (PyTorch fp32, first thread count)
    latency_runs_ms: dict[str, list[float]]
    rtf: float  # latency of the longest input / its duration
    peak_rss_mib: float | None = None
    peak_rss_delta_mib: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)  # vs the reference teacher


def load_model(spec: str) -> Any:
    """The encoder of a spec (memory's child process loads through it too)."""
    return load_encoder(spec)


def load_upstreams(specs: Mapping[str, str]) -> dict[str, Upstream]:
    return {name: load_upstream(spec, name=name) for name, spec in specs.items()}


def _encoder(model: Any) -> Any:
    # An evaluation Upstream wraps the encoder the runtimes export and time.
    return model.model if isinstance(model, Upstream) else model


def _key(seconds: float) -> str:
    return f"{seconds:g}"


def _static_cost(name: str, model: Any, seconds: Sequence[float]) -> ModelCost:
    enc = _encoder(model)
    config = enc.config
    by_op = {s: macs_by_op(enc, s) for s in seconds}
    macs = {_key(s): sum(ops.values()) for s, ops in by_op.items()}
    longest = max(seconds)
    return ModelCost(
        name=name,
        spec=str(getattr(model, "spec", "") or enc.name),
        kind=STUDENT if getattr(enc, "kind", TEACHER) == STUDENT else TEACHER,
        architecture=type(getattr(enc, "model", enc)).__name__,
        model_type=str(getattr(config, "model_type", "")),
        frontend=str(getattr(config, "frontend", "")),
        parameters=parameter_count(enc),
        hidden_states=int(enc.num_hidden_states),
        hidden_size=int(enc.hidden_size),
        macs=macs,
        macs_per_second=round(macs[_key(longest)] / longest),
        macs_by_op=by_op[longest],
        latency_ms={},
        latency_runs_ms={},
        rtf=0.0,
    )


def benchmark(
    models: Mapping[str, Any],
    *,
    repeats: int = 5,
    memory: bool = True,
    reference: str | None = None,
    progress: bool = True,
    seconds: Sequence[float] = SECONDS,
    threads: Sequence[int] | None = None,
    runtimes: Sequence[str] = (PYTORCH,),
    int8_weights: str = DEFAULT_WEIGHT_TYPE,
    warmup: int = 1,
    settle: int = 0,
) -> dict:
    """Every figure for every model in every runtime at every thread count, plus ratios to
    ``reference`` (default: the first teacher) and the targets whose models are present."""
    runtimes = check_runtimes(runtimes)
    counts = [int(t) for t in threads] if threads else [torch.get_num_threads()]
    seconds = sorted(seconds)
    machine = machine_info(counts[0])
    costs = {name: _static_cost(name, m, seconds) for name, m in models.items()}
    reference = reference or next((n for n, c in costs.items() if c.kind == TEACHER), None)
    inputs = {s: synthetic_batch([s], seed=1) for s in seconds}
    encoders = {name: _encoder(m) for name, m in models.items()}
    with tempfile.TemporaryDirectory(prefix="gendistiller-benchmark-") as tmp:
        prepared = {}
        for i, (name, enc) in enumerate(encoders.items()):
            if runtimes != [PYTORCH]:
                _log(progress, f"exporting {name} ({', '.join(runtimes[1:])})")
            prepared[name] = prepare(enc, runtimes, Path(tmp) / f"model-{i}", int8_weights)
        rows = []
        for t in counts:
            _log(progress, f"timing {len(models)} models x {len(runtimes)} runtimes, "
                           f"{repeats} rounds, {t} threads")  # fmt: skip
            rows += _time_rows(prepared, inputs, t, repeats, warmup, settle, reference)
        _fidelity(rows, encoders, prepared, inputs[seconds[-1]], counts[0])
    _headline(costs, rows, counts[0], seconds, reference)
    if memory:
        for name, cost in costs.items():
            _log(progress, f"peak memory of {name}")
            if cost.spec:
                figures = peak_memory(cost.spec, loader=LOADER, seconds=seconds[-1],
                                      threads=counts[0])  # fmt: skip
                cost.peak_rss_mib = figures["peak_rss_mib"]
                cost.peak_rss_delta_mib = figures["peak_rss_delta_mib"]
    machine["load_average_after"] = load_average()
    facts = {n: asdict(c) for n, c in costs.items()}
    return {
        "machine": machine,
        "threads": counts[0],
        "thread_counts": counts,
        "repeats": repeats,
        "settle": settle,
        "seconds": [float(s) if s % 1 else int(s) for s in seconds],
        "runtimes": runtimes,
        "reference": reference,
        "models": {n: asdict(c) for n, c in costs.items()},
        "rows": rows,
        "targets": check_targets(facts, rows),
    }


def _time_rows(prepared, inputs, threads, repeats, warmup, settle, reference) -> list[dict]:
    """One round-robin over every model, runtime and input at ``threads``."""
    runners = {(n, rt): r.build(threads) for n, rts in prepared.items() for rt, r in rts.items()}
    calls = {
        (n, rt, s): forward(runner, *inputs[s])
        for (n, rt), runner in runners.items()
        for s in inputs
    }
    timings = time_calls(calls, repeats=repeats, warmup=warmup, settle=settle, threads=threads)
    rows = []
    for (n, rt, s), timing in timings.items():
        base = timings.get((reference, PYTORCH, s))
        rows.append({
            "model": n, "runtime": rt, "threads": threads, "seconds": s, **timing.to_dict(),
            "rtf": round(timing.median_ms / 1000 / s, 4),
            "vs_reference": None if base is None else round(timing.median_ms / base.median_ms, 4),
            "file_mb": prepared[n][rt].file_mb, "min_cosine": None,
        })  # fmt: skip
    return rows


def _fidelity(rows, encoders, prepared, batch, threads) -> None:
    """Per-layer cosine of each ONNX runtime against PyTorch fp32 on the longest input."""
    waveforms, lengths = batch
    for name, rts in prepared.items():
        if len(rts) == 1:
            continue
        with torch.no_grad():
            reference_output = encoders[name](waveforms, lengths)
        for rt, runtime in rts.items():
            if rt == PYTORCH:
                continue
            cosine = min_cosine(reference_output, runtime.build(threads), waveforms, lengths)
            for row in rows:
                if row["model"] == name and row["runtime"] == rt:
                    row["min_cosine"] = cosine


def _headline(costs, rows, threads, seconds, reference) -> None:
    """Each model's PyTorch fp32 figures at the first thread count, and ratios to the
    reference: the figures ``evaluate`` and the reproduction report."""
    for row in rows:
        if row["runtime"] == PYTORCH and row["threads"] == threads:
            cost = costs[row["model"]]
            cost.latency_ms[_key(row["seconds"])] = round(row["median_ms"], 2)
            cost.latency_runs_ms[_key(row["seconds"])] = row["runs_ms"]
    longest = _key(seconds[-1])
    for cost in costs.values():
        cost.rtf = round(cost.latency_ms[longest] / 1000 / seconds[-1], 4)
    if reference is None:
        return
    ref = costs[reference]
    for cost in costs.values():
        cost.ratios = {
            "parameters": round(cost.parameters / ref.parameters, 4),
            "macs": round(cost.macs_per_second / ref.macs_per_second, 4),
            **{f"latency_{s}s": round(cost.latency_ms[s] / ref.latency_ms[s], 4)
               for s in cost.latency_ms},
        }  # fmt: skip


def _log(enabled: bool, message: str) -> None:
    if enabled:
        print(f"[benchmark] {message}", file=sys.stderr, flush=True)
