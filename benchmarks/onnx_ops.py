"""Where an exported model's time goes in onnxruntime: kernel time per op type.

Exports a model (a preset, a student folder or a teacher spec, random weights for a
preset) to fp32 ONNX, quantises it with each ``--weights`` type, and profiles each file
on one input with onnxruntime's profiler: the kernel time per op type per call (the
profiler sees the warm-up call too, so that mean includes it), and the median wall time
of the ``--runs`` timed calls. This is how the int8
weight types were chosen (docs/export.md, "int8"):

    python benchmarks/onnx_ops.py gendistiller-fast --threads 1 --weights uint8 mixed int8
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gendistiller.encoders import load_encoder
from gendistiller.export.onnx import export_onnx
from gendistiller.export.quantize import WEIGHT_TYPES, quantize_onnx


def profile(path: Path, waveform: np.ndarray, threads: int, runs: int) -> tuple[float, dict]:
    """Median wall ms of ``runs`` calls after a warm-up, and kernel ms per op type."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = str(path.with_suffix(""))
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: waveform}
    if len(session.get_inputs()) > 1:  # a student's lengths
        feeds[session.get_inputs()[1].name] = np.array([waveform.shape[1]], dtype=np.int64)
    session.run(None, feeds)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        session.run(None, feeds)
        walls.append(1000 * (time.perf_counter() - started))
    per_op: dict[str, float] = collections.Counter()
    for event in json.loads(Path(session.end_profiling()).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"] / 1000 / (runs + 1)
    return statistics.median(walls), dict(per_op)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="preset, student folder or teacher spec")
    p.add_argument("--weights", nargs="+", default=list(WEIGHT_TYPES), choices=WEIGHT_TYPES)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--runs", type=int, default=5, choices=range(1, 101), metavar="1..100")
    p.add_argument("--top", type=int, default=8, help="op types listed per file")
    args = p.parse_args()
    torch.manual_seed(0)
    waveform = np.random.default_rng(0).standard_normal((1, int(16000 * args.seconds))) * 0.1
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(load_encoder(args.model).eval(), Path(tmp) / "model.onnx")
        files = {"fp32": fp32} | {
            w: quantize_onnx(fp32, Path(tmp) / f"model.{w}.onnx", weight_type=w)
            for w in args.weights
        }
        for name, path in files.items():
            wall, per_op = profile(path, waveform.astype(np.float32), args.threads, args.runs)
            print(f"{args.model} {name}: median {wall:.1f} ms ({args.threads} thread(s),"
                  f" {args.seconds:g} s of audio); kernel ms per op type:")  # fmt: skip
            for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"  {op:28s} {ms:8.1f}")


if __name__ == "__main__":
    main()
