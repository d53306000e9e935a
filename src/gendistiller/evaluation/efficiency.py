"""What a model costs to run: parameters, MACs, CPU latency, real-time factor, peak memory.

How each figure is measured (also in docs/evaluation.md):

- parameters: those used at inference (a student's training-only heads excluded);
- MACs: counted by ``torch.utils.flop_counter.FlopCounterMode`` on one utterance
  (matrix products, convolutions and attention; MACs = FLOPs / 2); elementwise work
  (norms, activations, softmax) is not counted. Reported per second of audio, from a
  10 s input;
- latency: wall time of one forward pass (batch 1, no_grad, eval, float32) at 1 s and
  10 s, median over ``repeats`` runs after a warm-up run. All models are timed in the
  same process, round-robin, in rotating order, so a burst of load from elsewhere on the
  machine hits every model alike; the thread count is recorded;
- real-time factor: 10 s latency / 10 s;
- peak memory: peak resident set size (``VmHWM``) of a fresh child process that loads
  the model and runs the 10 s forward pass, the peak being reset after the imports;
  ``peak_rss_delta_mib`` subtracts the resident size just before loading the model
  (Python + torch + transformers), leaving what the model and its forward pass add.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from gendistiller.audio import SAMPLE_RATE
from gendistiller.errors import GenDistillerError
from gendistiller.evaluation.superb import STUDENT, Upstream, load_upstream
from gendistiller.students import DistilHuBERTModel, GenDistillerModel

SECONDS = (1, 10)
# Targets for the 768-d presets against a WavLM Base+ shaped teacher, 10 s on CPU.
TARGET_VS_DISTILHUBERT = 1.15
TARGET_VS_TEACHER = 0.40


@dataclass
class ModelCost:
    name: str
    spec: str
    kind: str  # student | teacher
    architecture: str
    parameters: int
    hidden_states: int
    hidden_size: int
    macs: dict[str, int]  # input seconds -> MACs of one forward pass
    macs_per_second: float  # from the 10 s input
    macs_by_op: dict[str, int]  # of the 10 s input: convolution, matmul, attention
    latency_ms: dict[str, float]  # input seconds -> median
    latency_runs_ms: dict[str, list[float]]
    rtf: float  # latency of 10 s / 10 s
    peak_rss_mib: float | None = None
    peak_rss_delta_mib: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)  # vs the reference teacher


def count_macs(upstream: Upstream, seconds: float) -> int:
    """MACs of one forward pass on ``seconds`` of audio (batch 1)."""
    return sum(macs_by_op(upstream, seconds).values())


def macs_by_op(upstream: Upstream, seconds: float) -> dict[str, int]:
    """MACs of one forward pass by operator: ``convolution`` (the waveform front-end and
    the positional convolution), ``matmul`` (linear layers) and ``attention`` (scores and
    mixing: batched products and scaled-dot-product kernels)."""
    wave = torch.zeros(1, int(seconds * SAMPLE_RATE))
    counter = FlopCounterMode(display=False, custom_mapping=_EXTRA_FLOPS)
    with counter:
        upstream.extract(wave)
    out = {"convolution": 0, "matmul": 0, "attention": 0}
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


def _sdpa_cpu_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    # The CPU kernel of scaled_dot_product_attention, which FlopCounterMode lacks:
    # Q K^T and A V, 2 FLOPs per MAC.
    b, h, s_q, d = query
    s_k = key[-2]
    return 2 * 2 * b * h * s_q * s_k * d


_EXTRA_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops}


def measure_latency(
    upstreams: dict[str, Upstream],
    repeats: int = 5,
    seconds: tuple[int, ...] = SECONDS,
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per forward pass, per model and input length, round-robin timed."""
    gen = torch.Generator().manual_seed(seed)
    inputs = {s: torch.randn(1, s * SAMPLE_RATE, generator=gen) * 0.1 for s in seconds}
    runs: dict[str, dict[str, list[float]]] = {n: {str(s): [] for s in seconds} for n in upstreams}
    names = list(upstreams)
    for up in upstreams.values():  # warm-up: allocator, kernels, lazy inits
        for x in inputs.values():
            up.extract(x)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            for s, x in inputs.items():
                start = time.perf_counter()
                upstreams[name].extract(x)
                runs[name][str(s)].append(round(1000 * (time.perf_counter() - start), 2))
    return runs


def peak_memory(spec: str, seconds: int = 10, threads: int | None = None) -> dict[str, float]:
    """Peak RSS (MiB) of a child process running one forward pass of ``spec``."""
    code = "import sys; from gendistiller.evaluation.efficiency import _memory_child; _memory_child(*sys.argv[1:])"
    cmd = [sys.executable, "-c", code, spec, str(seconds), str(threads or 0)]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise GenDistillerError(f"peak memory of {spec}: child process failed ({tail})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _memory_child(spec: str, seconds: str, threads: str) -> None:
    """Runs in the child process (see :func:`peak_memory`); prints one JSON line."""
    if int(threads) > 0:
        torch.set_num_threads(int(threads))
    # Imports may have peaked above what the model needs: restart the high-water mark.
    _reset_peak_rss()
    baseline = _rss_mib("VmRSS")
    upstream = load_upstream(spec)
    upstream.extract(torch.randn(1, int(seconds) * SAMPLE_RATE) * 0.1)
    peak = _rss_mib("VmHWM")
    print(
        json.dumps(
            {
                "peak_rss_mib": round(peak, 1),
                "peak_rss_delta_mib": round(max(peak - baseline, 0.0), 1),
            }
        )
    )


def _reset_peak_rss() -> None:
    try:  # Linux >= 4.0: "5" resets the peak resident set size (VmHWM) to the current one
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) from /proc, else the rusage peak (other systems)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def benchmark(
    upstreams: dict[str, Upstream],
    *,
    repeats: int = 5,
    memory: bool = True,
    reference: str | None = None,
    progress: bool = True,
) -> dict:
    """Every figure for every model, plus ratios to ``reference`` (default: the first
    teacher) and the GenDistiller/DistilHuBERT targets when those models are present."""
    threads = torch.get_num_threads()
    machine = machine_info(threads)
    costs: dict[str, ModelCost] = {}
    for name, up in upstreams.items():
        by_op = {s: macs_by_op(up, s) for s in SECONDS}
        macs = {str(s): sum(ops.values()) for s, ops in by_op.items()}
        costs[name] = ModelCost(
            name=name,
            spec=up.spec,
            kind=up.kind,
            architecture=up.architecture,
            parameters=up.parameter_count(),
            hidden_states=up.num_hidden_states,
            hidden_size=up.hidden_size,
            macs=macs,
            macs_per_second=round(macs[str(SECONDS[-1])] / SECONDS[-1]),
            macs_by_op=by_op[SECONDS[-1]],
            latency_ms={},
            latency_runs_ms={},
            rtf=0.0,
        )
    _log(progress, f"timing {len(upstreams)} models, {repeats} rounds, {threads} threads")
    for name, runs in measure_latency(upstreams, repeats).items():
        costs[name].latency_runs_ms = runs
        costs[name].latency_ms = {s: round(statistics.median(v), 2) for s, v in runs.items()}
        costs[name].rtf = round(costs[name].latency_ms[str(SECONDS[-1])] / 1000 / SECONDS[-1], 4)
    if memory:
        for name, up in upstreams.items():
            _log(progress, f"peak memory of {name}")
            for key, value in peak_memory(up.spec, SECONDS[-1], threads).items():
                setattr(costs[name], key, value)
    reference = reference or next((n for n, u in upstreams.items() if u.kind != STUDENT), None)
    if reference is not None:
        ref = costs[reference]
        for cost in costs.values():
            cost.ratios = {
                "parameters": round(cost.parameters / ref.parameters, 4),
                "macs": round(cost.macs_per_second / ref.macs_per_second, 4),
                **{
                    f"latency_{s}s": round(cost.latency_ms[s] / ref.latency_ms[s], 4)
                    for s in cost.latency_ms
                },
            }
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "machine": machine,
        "threads": threads,
        "repeats": repeats,
        "seconds": list(SECONDS),
        "reference": reference,
        "models": {n: asdict(c) for n, c in costs.items()},
        "targets": targets(costs, reference),
    }


def targets(costs: dict[str, ModelCost], reference: str | None) -> dict:
    """GenDistiller at most 1.15x DistilHuBERT's and 0.40x the teacher's 10 s latency.

    The targets are stated for the 768-d students against a WavLM Base+ shaped teacher
    (768-d, 12 layers), so they are checked only for models of those shapes.
    """
    gen = next(
        (
            c
            for c in costs.values()
            if c.architecture == GenDistillerModel.__name__ and c.hidden_size == 768
        ),
        None,
    )
    base = next(
        (
            c
            for c in costs.values()
            if c.architecture == DistilHuBERTModel.__name__ and c.hidden_size == 768
        ),
        None,
    )
    teacher = costs.get(reference) if reference is not None else None
    key = str(SECONDS[-1])
    out: dict = {}
    if gen and base:
        ratio = gen.latency_ms[key] / base.latency_ms[key]
        out["gendistiller_vs_distilhubert"] = {
            "models": [gen.name, base.name], "ratio": round(ratio, 4), "max": TARGET_VS_DISTILHUBERT,
            "met": ratio <= TARGET_VS_DISTILHUBERT,
        }  # fmt: skip
    if gen and teacher and teacher.hidden_size == 768 and teacher.hidden_states == 13:
        ratio = gen.latency_ms[key] / teacher.latency_ms[key]
        out["gendistiller_vs_teacher"] = {
            "models": [gen.name, teacher.name], "ratio": round(ratio, 4), "max": TARGET_VS_TEACHER,
            "met": ratio <= TARGET_VS_TEACHER,
        }  # fmt: skip
    return out


def machine_info(threads: int) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": cores,
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def load_upstreams(specs: dict[str, str]) -> dict[str, Upstream]:
    return {name: load_upstream(spec, name=name) for name, spec in specs.items()}


def _log(enabled: bool, message: str) -> None:
    if enabled:
        print(f"[benchmark] {message}", file=sys.stderr, flush=True)
