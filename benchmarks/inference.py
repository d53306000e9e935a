"""Inference cost of the shipped models: PyTorch fp32 vs ONNX fp32 vs ONNX int8.

For both students and the teacher, in one run: latency on 1 s and 10 s of audio (best of
``--repeats`` calls, runtimes interleaved call by call so that a change in the machine's
load hits all of them alike), real-time factor (latency / audio duration), size of the
deployed model file, and fidelity (per-layer cosine against PyTorch fp32 on a padded batch
of random lengths, 1-20 s). Models have random weights unless trained folders are given:
speed does not depend on the values. Prints a Markdown table and writes JSON.

    python benchmarks/inference.py --json inference.json
    python benchmarks/inference.py --student gendistiller-base=runs/x/student --threads 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import onnxruntime
import torch

from gendistiller.encoders import load_encoder
from gendistiller.export.fidelity import compare, random_seconds, synthetic_batch
from gendistiller.export.onnx import OnnxModel, export_onnx
from gendistiller.export.quantize import quantize_onnx
from gendistiller.export.transformers import export_transformers
from gendistiller.students import StudentModel

RUNTIMES = ("pytorch-fp32", "onnx-fp32", "onnx-int8")
# The issue's targets for the GenDistiller student on CPU.
TARGET_SPEEDUP, TARGET_COSINE, TARGET_SIZE = 2.0, 0.99, 1 / 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--student",
        action="append",
        default=None,
        metavar="NAME[=DIR]",
        help="a preset, or NAME=saved student folder (default: gendistiller-base and distilhubert-base)",
    )
    p.add_argument("--teacher", default="random:wavlm", help="teacher spec ('' to leave it out)")
    p.add_argument(
        "--seconds", type=float, nargs="+", default=[1.0, 10.0], help="audio lengths to time"
    )
    p.add_argument("--repeats", type=int, default=5, help="timed calls per runtime and length")
    p.add_argument(
        "--threads", type=int, default=0, help="CPU threads for torch and onnxruntime (0: default)"
    )
    p.add_argument("--int8-weights", choices=("uint8", "int8"), default="uint8")
    p.add_argument("--work-dir", type=Path, default=None, help="keep exported files here")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    return p.parse_args(argv)


def load_models(args: argparse.Namespace) -> dict[str, torch.nn.Module]:
    models: dict[str, torch.nn.Module] = {}
    for spec in args.student or ["gendistiller-base", "distilhubert-base"]:
        name, _, folder = spec.partition("=")
        models[name] = load_encoder(folder or name, seed=0)
    if args.teacher:
        models[args.teacher] = load_encoder(args.teacher)
    return models


def pytorch_file(name: str, model: torch.nn.Module, folder: Path) -> Path:
    """The fp32 file a user deploys: a student's transformers export (HubertModel for
    DistilHuBERT: no training heads), the transformers checkpoint for the teacher."""
    if isinstance(model, StudentModel):
        export_transformers(model, folder)
    else:
        model.model.save_pretrained(folder)
    return folder / "model.safetensors"


def prepare(models: dict, work: Path, args: argparse.Namespace) -> dict[str, dict]:
    """Export every model; returns per model: runnable runtimes and file sizes."""
    prepared = {}
    for name, model in models.items():
        folder = work / name.replace(":", "_").replace("/", "_")
        print(f"exporting {name} ...", flush=True)
        files = {
            "pytorch-fp32": pytorch_file(name, model, folder / "pytorch"),
            "onnx-fp32": export_onnx(model, folder / "model.onnx"),
        }
        files["onnx-int8"] = quantize_onnx(
            files["onnx-fp32"], folder / "model.int8.onnx", weight_type=args.int8_weights
        )
        threads = args.threads or None
        runners = {
            "pytorch-fp32": model,
            "onnx-fp32": OnnxModel(files["onnx-fp32"], threads=threads),
            "onnx-int8": OnnxModel(files["onnx-int8"], threads=threads),
        }
        prepared[name] = {
            "runners": runners,
            "size_mb": {k: os.path.getsize(f) / 1e6 for k, f in files.items()},
            "parameters": model.parameter_count(),
        }
    return prepared


def time_all(prepared: dict, seconds: list[float], repeats: int) -> None:
    """Best-of-``repeats`` latency per model, runtime and length, runtimes interleaved."""
    for secs in seconds:
        waves, lengths = synthetic_batch([secs], seed=1)
        for name, entry in prepared.items():
            print(f"timing {name} on {secs:g} s ...", flush=True)
            runners = entry["runners"]
            best = {rt: float("inf") for rt in runners}
            with torch.no_grad():
                for runner in runners.values():  # warm-up: first calls allocate and plan
                    runner(waves, lengths)
                for _ in range(repeats):
                    for rt, runner in runners.items():
                        start = time.perf_counter()
                        runner(waves, lengths)
                        best[rt] = min(best[rt], time.perf_counter() - start)
            entry.setdefault("latency_s", {})[f"{secs:g}"] = best


def fidelity_all(prepared: dict, models: dict) -> None:
    """Per-layer cosine of the ONNX runtimes against PyTorch fp32; the teacher takes no
    padding, so it is compared on one utterance at a time."""
    seconds = random_seconds(3, seed=0)
    for name, entry in prepared.items():
        print(f"fidelity of {name} ...", flush=True)
        reference = entry["runners"]["pytorch-fp32"]
        if models[name].kind == "teacher":
            batches = [synthetic_batch([s], seed=i) for i, s in enumerate(seconds)]
        else:
            batches = [synthetic_batch(seconds)]
        entry["fidelity"] = {}
        for rt in ("onnx-fp32", "onnx-int8"):
            reports = [compare(reference, entry["runners"][rt], *batch) for batch in batches]
            layers = len(reports[0].layers)
            entry["fidelity"][rt] = {
                "seconds": seconds,
                "cosine_per_layer": [
                    min(r.layers[i].cosine for r in reports) for i in range(layers)
                ],
                "max_abs_diff": max(r.max_abs_diff for r in reports),
            }


def summarise(prepared: dict, seconds: list[float]) -> list[dict]:
    rows = []
    longest = f"{max(seconds):g}"
    for name, entry in prepared.items():
        base = entry["latency_s"][longest]["pytorch-fp32"]
        for rt in RUNTIMES:
            fid = entry["fidelity"].get(rt)
            rows.append(
                {
                    "model": name,
                    "runtime": rt,
                    "parameters": entry["parameters"],
                    "size_mb": entry["size_mb"][rt],
                    "size_ratio": entry["size_mb"][rt] / entry["size_mb"]["onnx-fp32"],
                    "latency_s": {s: entry["latency_s"][s][rt] for s in entry["latency_s"]},
                    "rtf": {s: entry["latency_s"][s][rt] / float(s) for s in entry["latency_s"]},
                    "speedup_vs_pytorch": base / entry["latency_s"][longest][rt],
                    "min_cosine": min(fid["cosine_per_layer"]) if fid else 1.0,
                    "cosine_per_layer": fid["cosine_per_layer"] if fid else None,
                    "max_abs_diff": fid["max_abs_diff"] if fid else 0.0,
                }
            )
    return rows


def table(rows: list[dict], seconds: list[float]) -> str:
    lengths = [f"{s:g}" for s in seconds]
    head = (
        "| model | runtime | file (MB) | "
        + " | ".join(f"{s} s latency (ms)" for s in lengths)
        + f" | RTF ({lengths[-1]} s) | speed-up vs PyTorch | min cosine vs fp32 |"
    )
    lines = [head, "|---|---|---:|" + "---:|" * len(lengths) + "---:|---:|---:|"]
    for r in rows:
        lat = " | ".join(f"{1000 * r['latency_s'][s]:.0f}" for s in lengths)
        lines.append(
            f"| {r['model']} | {r['runtime']} | {r['size_mb']:.1f} | {lat} | {r['rtf'][lengths[-1]]:.3f} "
            f"| {r['speedup_vs_pytorch']:.2f}x | {r['min_cosine']:.5f} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict]) -> list[str]:
    """The issue's CPU targets for the GenDistiller student, as PASS/MISS lines."""
    out = []
    for r in rows:
        if r["runtime"] != "onnx-int8" or not r["model"].startswith("gendistiller"):
            continue
        checks = [
            (
                f"int8 speed-up vs PyTorch fp32 {r['speedup_vs_pytorch']:.2f}x >= {TARGET_SPEEDUP:g}x",
                r["speedup_vs_pytorch"] >= TARGET_SPEEDUP,
            ),
            (
                f"min per-layer cosine {r['min_cosine']:.4f} >= {TARGET_COSINE}",
                r["min_cosine"] >= TARGET_COSINE,
            ),
            (f"file {r['size_ratio']:.2f} x fp32 <= 1/3", r["size_ratio"] <= TARGET_SIZE),
        ]
        out += [f"{r['model']}: {'PASS' if ok else 'MISS'} {text}" for text, ok in checks]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    models = load_models(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or Path(tmp)
        prepared = prepare(models, work, args)
        time_all(prepared, args.seconds, args.repeats)
        fidelity_all(prepared, models)
    rows = summarise(prepared, args.seconds)
    result = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1min": {"start": load_before[0], "end": os.getloadavg()[0]},
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "threads": args.threads or "default",
        },
        "settings": {
            "seconds": args.seconds,
            "repeats": args.repeats,
            "int8_weights": args.int8_weights,
        },
        "rows": rows,
        "targets": targets(rows),
    }
    print()
    print(table(rows, args.seconds))
    print()
    for line in result["targets"]:
        print(line)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
