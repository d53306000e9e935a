"""``gendistiller export STUDENT OUT_DIR --format {transformers,onnx,onnx-int8}``.

Every export is checked before the command reports success: the transformers folder is
reloaded and compared with the student, the ONNX model is run by onnxruntime on a padded
batch of random lengths between 1 and 20 s, and the int8 model's per-layer cosine against
the fp32 student and its speed against the fp32 ONNX model are measured. The figures are
printed and saved to ``OUT_DIR/export.json``.

``OUT_DIR`` may be new, empty, or a previous export (``export.json`` and the files it
lists), which is replaced as a whole. Any other folder with files in it is refused, unless ``--overwrite``:
then the exported files replace those of the same names and the others are left alone.
The export is written beside ``OUT_DIR`` and moved in once complete, so a failure (a full
disk included) leaves ``OUT_DIR`` as it was; the report lists only the files written.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import torch

from gendistiller.errors import ConfigError, GenDistillerError
from gendistiller.export.quantize import DEFAULT_WEIGHT_TYPE, WEIGHT_TYPES, quantize_onnx
from gendistiller.io import atomic_dir, remove_stale_temps, write_json
from gendistiller.students.base import StudentModel

FORMATS = ("transformers", "onnx", "onnx-int8")
#: What an export must reach to pass its check.
RELOAD_TOLERANCE = 1e-5
PARITY_COSINE = 0.9999
INT8_COSINE = 0.99
REPORT_FILE = "export.json"


def export_student(
    student: StudentModel,
    out_dir: str | os.PathLike,
    fmt: str = "transformers",
    *,
    weight_type: str = DEFAULT_WEIGHT_TYPE,
    verify: bool = True,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``student`` to ``out_dir`` in format ``fmt``; returns (and saves) the report.

    Raises :class:`ConfigError` for a folder that is neither empty nor a previous export
    (unless ``overwrite``), :class:`GenDistillerError` when a check misses its target
    (files are kept)."""
    if fmt not in FORMATS:
        raise GenDistillerError(
            f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}"
        )
    out = Path(out_dir)
    merge = check_destination(out, overwrite)
    remove_stale_temps(out.parent, out.name)
    with atomic_dir(out, merge=merge) as stage:
        report, failures = _export_into(stage, student.eval(), fmt, weight_type, verify, seed)
    if failures:
        raise GenDistillerError(f"export to {out} failed its check: {'; '.join(failures)}")
    return report


def check_destination(out: Path, overwrite: bool) -> bool:
    """Whether the export must be merged into ``out`` (a folder of someone else's files,
    with ``overwrite``) rather than replace it; refuses such a folder without."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; choose a folder to export to")
    foreign = out.is_dir() and any(out.iterdir()) and not _previous_export(out)
    if foreign and not overwrite:
        raise ConfigError(
            f"{out}: not empty and not a previous export; choose a new or empty folder,"
            " or pass --overwrite to write into it"
        )
    return foreign


def _previous_export(out: Path) -> bool:
    """``out`` holds an export report and only the files it lists: replacing the folder
    as a whole loses nothing else."""
    try:
        listed = set(json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(p.name in listed | {REPORT_FILE} and p.is_file() for p in out.iterdir())


def _export_into(
    out: Path, student: StudentModel, fmt: str, weight_type: str, verify: bool, seed: int
) -> tuple[dict[str, Any], list[str]]:
    report: dict[str, Any] = {"format": fmt, "model": type(student).__name__}
    failures: list[str] = []
    if fmt == "transformers":
        from gendistiller.export.transformers import export_transformers

        report["files"] = {f: (out / f).stat().st_size for f in export_transformers(student, out)}
        if verify:
            diff, scale = _reload_difference(student, out)
            report["reload_max_abs_diff"] = diff
            report["reload_max_abs_value"] = scale
            # Float rounding grows with the values: allow 1e-5 per unit of the largest one.
            if diff > RELOAD_TOLERANCE * max(1.0, scale):
                failures.append(f"reloaded model differs by {diff:.2e} (values up to {scale:.1f})")
    else:
        _export_onnx(student, out, fmt, weight_type, verify, seed, report, failures)
    write_json(out / REPORT_FILE, report)
    return report, failures


def _export_onnx(
    student: StudentModel,
    out: Path,
    fmt: str,
    weight_type: str,
    verify: bool,
    seed: int,
    report: dict[str, Any],
    failures: list[str],
) -> None:
    """model.onnx (and model.int8.onnx), with parity and fidelity added to ``report``."""
    from gendistiller.export.onnx import OnnxModel, export_onnx
    from gendistiller.export.parity import compare, random_seconds, synthetic_batch

    fp32 = export_onnx(student, out / "model.onnx")
    report["files"] = {"model.onnx": fp32.stat().st_size}
    batch = synthetic_batch(random_seconds(3, seed=seed), seed=seed)
    if verify:
        parity = compare(student, OnnxModel(fp32), *batch)
        report["parity"] = parity.to_dict()
        if parity.min_cosine < PARITY_COSINE:
            failures.append(f"onnxruntime cosine {parity.min_cosine:.6f} < {PARITY_COSINE}")
    if fmt != "onnx-int8":
        return

    int8 = quantize_onnx(fp32, out / "model.int8.onnx", weight_type=weight_type)
    report["files"]["model.int8.onnx"] = int8.stat().st_size
    report["size_ratio"] = int8.stat().st_size / fp32.stat().st_size
    if verify:
        fidelity = compare(student, OnnxModel(int8), *batch)
        report["int8"] = fidelity.to_dict()
        report["int8"]["speed"] = _speed(fp32, int8)
        if fidelity.min_cosine < INT8_COSINE:
            failures.append(f"int8 cosine {fidelity.min_cosine:.4f} < {INT8_COSINE}")


def _reload_difference(student: StudentModel, out: Path) -> tuple[float, float]:
    """Largest difference between the student's and the reloaded model's hidden states on
    one unpadded utterance (HuBERT checkpoints take no padding), and the largest value."""
    from gendistiller.export.parity import synthetic_speech
    from gendistiller.export.transformers import reloaded_states

    wave = torch.from_numpy(synthetic_speech(3 * 16000))[None]
    with torch.no_grad():
        ref = student(wave).hidden_states
        got = reloaded_states(student, out, wave)
    diff = max(float((r - g).abs().max()) for r, g in zip(ref, got, strict=True))
    return diff, max(float(r.abs().max()) for r in ref)


def _speed(fp32: Path, int8: Path, seconds: float = 10.0) -> dict[str, float]:
    """Median latency of both ONNX models on one utterance (one timer run), and the speed-up."""
    from gendistiller.export.onnx import OnnxModel
    from gendistiller.export.parity import synthetic_batch
    from gendistiller.measure import forward, time_calls

    wave, lengths = synthetic_batch([seconds])
    calls = {
        name: forward(OnnxModel(path), wave, lengths)
        for name, path in (("fp32", fp32), ("int8", int8))
    }
    timed = time_calls(calls, repeats=3)
    times = {f"{name}_seconds": t.median_ms / 1000 for name, t in timed.items()}
    times["speedup"] = times["fp32_seconds"] / times["int8_seconds"]
    times["audio_seconds"] = seconds
    return times


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "student",
        metavar="STUDENT",
        help="saved student folder, run folder, or a preset (random weights, seed 0)",
    )
    parser.add_argument(
        "out_dir", metavar="OUT_DIR", help="folder to write (new, empty or a previous export)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into OUT_DIR even if it holds other files (same names replaced, others kept)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="transformers",
        help="transformers: HubertModel checkpoint (DistilHuBERT) or student + modelling code "
        "(GenDistiller); onnx: model.onnx; onnx-int8: model.onnx + model.int8.onnx",
    )
    parser.add_argument(
        "--int8-weights",
        choices=WEIGHT_TYPES,
        default=DEFAULT_WEIGHT_TYPE,
        help="int8 weight types: mixed (signed products, unsigned convolutions: fastest on"
        " VNNI CPUs), uint8 (faster on AVX2 CPUs without VNNI) or int8 (docs/export.md)",
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the reload / parity / fidelity checks"
    )
    parser.add_argument(
        "--push-to-hub", metavar="REPO", help="upload OUT_DIR to this Hugging Face Hub repo"
    )
    parser.add_argument("--private", action="store_true", help="create the hub repo as private")


def run(args: argparse.Namespace) -> int:
    from gendistiller.encoders.resolve import load_encoder

    student = load_encoder(args.student)
    if not isinstance(student, StudentModel):
        raise GenDistillerError(
            f"{args.student}: not a student ({type(student).__name__}); export takes a saved "
            "student folder, a run folder or a student preset"
        )
    report = export_student(
        student,
        args.out_dir,
        args.format,
        weight_type=args.int8_weights,
        verify=not args.no_verify,
        overwrite=args.overwrite,
    )
    for line in describe(report):
        print(line)
    if args.push_to_hub:
        from gendistiller.export.hub import push_to_hub

        print(f"pushed: {push_to_hub(args.out_dir, args.push_to_hub, private=args.private)}")
    return 0


def describe(report: dict[str, Any]) -> list[str]:
    """The report as a few human-readable lines."""
    lines = [
        f"{report['format']} export of {report['model']}: "
        + ", ".join(f"{name} ({_size(size)})" for name, size in report["files"].items())
    ]
    if "reload_max_abs_diff" in report:
        lines.append(
            f"reloaded: max |diff| {report['reload_max_abs_diff']:.2e} "
            f"(values up to {report['reload_max_abs_value']:.2f})"
        )
    for key, label in (("parity", "onnxruntime vs PyTorch"), ("int8", "int8 vs PyTorch fp32")):
        if key in report:
            r = report[key]
            per_layer = ", ".join(f"{x['cosine']:.6f}" for x in r["layers"])
            lines.append(
                f"{label}: max |diff| {r['max_abs_diff']:.2e}, cosine per layer {per_layer} "
                f"(utterances of {', '.join(f'{s:.1f}' for s in r['seconds'])} s)"
            )
    if "size_ratio" in report:
        lines.append(f"int8 file size: {report['size_ratio']:.2f} x fp32")
    speed = report.get("int8", {}).get("speed")
    if speed:
        lines.append(
            f"int8 speed on {speed['audio_seconds']:.0f} s: {speed['int8_seconds']:.3f} s vs fp32 ONNX "
            f"{speed['fp32_seconds']:.3f} s ({speed['speedup']:.2f}x)"
        )
    return lines


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1e6:.1f} MB" if num_bytes >= 1e5 else f"{num_bytes / 1e3:.1f} kB"
