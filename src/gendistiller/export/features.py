"""``gendistiller features IN_DIR OUT_DIR``: hidden states of every audio file in a folder.

``OUT_DIR`` mirrors ``IN_DIR``: ``IN_DIR/a/b.flac`` -> ``OUT_DIR/a/b.npy`` (one float array
``[layers, frames, hidden]``, written through a memory map so hours of audio need no
memory) or ``OUT_DIR/a/b.safetensors`` (one ``[frames, hidden]`` tensor per layer, keys
``hidden_state_<i>``). Each file is written to a hidden partial file and renamed when
complete, so an interrupted run leaves no half-written outputs, and a rerun skips the
files that are done. ``OUT_DIR/features.json`` records the settings; a rerun with other
settings is refused rather than mixing features. Unreadable audio is skipped with one
line naming the file and the problem, and counted in the summary.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from gendistiller.audio import AudioError
from gendistiller.encoders.resolve import load_encoder
from gendistiller.errors import ConfigError, DataError
from gendistiller.export.extract import ChunkedStates
from gendistiller.export.models import resolve_layers

FORMATS = ("npy", "safetensors")
DTYPES = ("float32", "float16")
SETTINGS_FILE = "features.json"


@dataclass
class FeaturesReport:
    written: list[str] = field(default_factory=list)
    done_before: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)

    def summary(self) -> str:
        total = len(self.written) + len(self.done_before) + len(self.skipped)
        text = (
            f"{total} files: {len(self.written)} written, {len(self.done_before)} already done, "
            f"{len(self.skipped)} skipped"
        )
        if self.skipped:
            kinds = collections.Counter(p.split(" (")[0].split(":")[0] for _, p in self.skipped)
            text += " (" + ", ".join(f"{n} {k}" for k, n in kinds.most_common()) + ")"
        return text


def extract_folder(
    in_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    model_spec: str,
    *,
    layers: list[int] | None = None,
    fmt: str = "npy",
    dtype: str = "float32",
    chunk_seconds: float = 20.0,
    context_seconds: float = 2.0,
    device: str = "cpu",
    progress: bool = True,
) -> FeaturesReport:
    """Write features of every audio file under ``in_dir``; see the module docstring."""
    from gendistiller.data.sources import list_folder

    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    src, out = Path(in_dir), Path(out_dir)
    if not src.is_dir():
        raise DataError(f"{src}: no such folder")
    files = list_folder(src)
    if not files:
        raise DataError(f"{src}: no audio files found")
    model = load_encoder(model_spec, device=device)
    layers = resolve_layers(layers, model.num_hidden_states)
    settings = {
        "model": _canonical(model_spec),
        "layers": layers,
        "format": fmt,
        "dtype": dtype,
        "chunk_seconds": chunk_seconds,
        "context_seconds": context_seconds,
    }
    _claim(out, settings)
    report = FeaturesReport()
    targets: dict[Path, str] = {}
    with tqdm(files, desc="features", unit=" files", disable=not progress, file=sys.stderr) as bar:
        for path in bar:
            target = (out / Path(path).relative_to(src)).with_suffix(f".{fmt}")
            if target in targets:
                problem = f"same output file as {targets[target]}; rename one of them"
                _skip(report, path, problem, bar)
                continue
            targets[target] = path
            if target.exists():
                report.done_before.append(path)
                continue
            try:
                states = ChunkedStates(
                    path,
                    model,
                    layers,
                    chunk_seconds=chunk_seconds,
                    context_seconds=context_seconds,
                )
                _write(states, target, fmt, np.dtype(dtype))
            except AudioError as err:
                _skip(report, path, err.problem, bar)
                continue
            report.written.append(path)
    return report


def _write(states: ChunkedStates, target: Path, fmt: str, dtype: np.dtype) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if fmt == "npy":
            array = None
            for first, part in states:
                if array is None:
                    shape = (part.shape[0], states.num_frames, part.shape[2])
                    array = np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape)
                array[:, first : first + part.shape[1]] = part
            array.flush()
            del array
        else:
            from safetensors.numpy import save_file

            parts = list(states)
            stacked = np.concatenate([p for _, p in parts], axis=1).astype(dtype)
            tensors = {
                f"hidden_state_{i}": np.ascontiguousarray(s)
                for i, s in zip(states.layers, stacked, strict=True)
            }
            save_file(
                tensors,
                str(partial),
                metadata={"stride": str(states.stride), "sample_rate": "16000"},
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _skip(report: FeaturesReport, path: str, problem: str, bar) -> None:
    report.skipped.append((path, problem))
    bar.write(f"skipping {path}: {problem}", file=sys.stderr)


def _canonical(spec: str) -> str:
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def _claim(out: Path, settings: dict) -> None:
    """Record the settings in ``out``, or check they match the ones recorded there."""
    out.mkdir(parents=True, exist_ok=True)
    record = out / SETTINGS_FILE
    if record.exists():
        try:
            before = json.loads(record.read_text())
        except ValueError:
            before = None
        if before != settings:
            changed = sorted(
                k for k in settings if not isinstance(before, dict) or before.get(k) != settings[k]
            )
            raise ConfigError(
                f"{out} holds features made with other settings ({', '.join(changed) or SETTINGS_FILE}); "
                "use another output folder or the same settings"
            )
        return
    record.write_text(json.dumps(settings, indent=2) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "in_dir", metavar="IN_DIR", help="folder scanned recursively for audio files"
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the features go (mirrors IN_DIR)")
    parser.add_argument(
        "--model",
        required=True,
        help="student folder or preset, exported .onnx file, or teacher (hub id, folder, random:TYPE)",
    )
    parser.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=None,
        help="hidden-state indices to keep, negative from the end (None: all)",
    )
    parser.add_argument("--format", choices=FORMATS, default="npy", help="output file format")
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="stored precision")
    parser.add_argument("--chunk-seconds", type=float, default=20.0, help="audio per model call")
    parser.add_argument(
        "--context-seconds", type=float, default=2.0, help="extra audio on each side of a chunk"
    )
    parser.add_argument("--device", default="cpu", help="torch device for PyTorch models")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    report = extract_folder(
        args.in_dir,
        args.out_dir,
        args.model,
        layers=args.layers,
        fmt=args.format,
        dtype=args.dtype,
        chunk_seconds=args.chunk_seconds,
        context_seconds=args.context_seconds,
        device=args.device,
        progress=not args.no_progress,
    )
    print(f"features: {report.summary()} -> {args.out_dir}")
    if not report.written and not report.done_before:
        raise DataError(f"{args.in_dir}: no file could be processed ({report.summary()})")
    return 0
