"""What each fast-student option costs: parameters, MACs per second of audio and PyTorch
fp32 time against the teacher's, every variant timed in one run (docs/method.md, "Fast
students", shows this table).

Each row is a student preset with config overrides (random weights: speed does not
depend on them), timed on one utterance with its length passed, as the SUPERB upstream
and the benchmark call it; ``+ masked path`` times the same utterance with one sample of
padding, which forces the padding-aware path the full-length fast path skips. The calls
take turns round-robin (:func:`gendistiller.measure.time_calls`), so a change in load
hits every variant alike; ``gendistiller benchmark`` gives the ONNX and int8 figures.

    python benchmarks/frontend_options.py --threads 1 --seconds 10 --repeats 5
"""

from __future__ import annotations

import argparse
import json

import torch

from gendistiller.encoders import load_encoder
from gendistiller.measure import count_macs, machine_info, parameter_count, time_calls
from gendistiller.measure.machine import load_average
from gendistiller.students import build_student

SAMPLE_RATE = 16_000
FBANK = {"frontend": "fbank", "feature_grad_mult": 1.0}
#: (row name, preset, overrides, masked): every option alone on the paper's body, then
#: the combinations around gendistiller-fast.
VARIANTS = [
    ("gendistiller-base (paper)", "gendistiller-base", {}, False),
    ("gendistiller-base + masked path", "gendistiller-base", {}, True),
    ("conv, no positional conv", "gendistiller-base", {"num_conv_pos_embeddings": 0}, False),
    ("conv, 40 ms inside", "gendistiller-base", {"transformer_stride": 2}, False),
    ("fbank, positional conv 128 taps", "gendistiller-base", FBANK, False),
    (
        "fbank, 25 ms windows (400/320)",
        "gendistiller-base",
        {**FBANK, "fbank_window": 400, "fbank_hop": 320},
        False,
    ),  # fmt: skip
    (
        "fbank, positional conv 32 taps",
        "gendistiller-base",
        {**FBANK, "num_conv_pos_embeddings": 32},
        False,
    ),  # fmt: skip
    (
        "fbank, depthwise positional conv",
        "gendistiller-base",
        {**FBANK, "num_conv_pos_embedding_groups": 768},
        False,
    ),  # fmt: skip
    (
        "fbank, no positional conv",
        "gendistiller-base",
        {**FBANK, "num_conv_pos_embeddings": 0},
        False,
    ),  # fmt: skip
    (
        "fbank, 128 taps, 40 ms inside",
        "gendistiller-base",
        {**FBANK, "transformer_stride": 2},
        False,
    ),  # fmt: skip
    ("gendistiller-fast (fbank, 32 taps, 40 ms inside)", "gendistiller-fast", {}, False),
    (
        "fbank, no positional conv, 40 ms inside",
        "gendistiller-fast",
        {"num_conv_pos_embeddings": 0},
        False,
    ),  # fmt: skip
    (
        "fbank, 16 taps, 40 ms inside",
        "gendistiller-fast",
        {"num_conv_pos_embeddings": 16},
        False,
    ),  # fmt: skip
    (
        "fbank, 32 taps, 60 ms inside",
        "gendistiller-fast",
        {"transformer_stride": 3},
        False,
    ),  # fmt: skip
    (
        "fbank, 16 taps, 60 ms inside",
        "gendistiller-fast",
        {"num_conv_pos_embeddings": 16, "transformer_stride": 3},
        False,
    ),  # fmt: skip
    ("distilhubert-base (paper)", "distilhubert-base", {}, False),
    ("distilhubert-fast", "distilhubert-fast", {}, False),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", default="random:wavlm", help="teacher spec (the reference)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--seconds", type=float, default=10.0, help="input length")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per variant (median)")
    p.add_argument("--json", default="", help="also write the figures to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n = int(args.seconds * SAMPLE_RATE)
    wave = torch.randn(1, n + 1, generator=torch.Generator().manual_seed(0)) * 0.1
    full, cut = torch.tensor([n]), torch.tensor([n])
    models, calls = {"teacher": load_encoder(args.teacher)}, {}
    calls["teacher"] = lambda: models["teacher"](wave[:, :n])
    for name, preset, overrides, masked in VARIANTS:
        torch.manual_seed(0)
        model = models[name] = build_student(preset, **overrides).eval()
        # masked: one padding sample, so the padding-aware path runs on the same audio
        calls[name] = (lambda m=model: m(wave, cut)) if masked else (lambda m=model: m(wave[:, :n], full))  # fmt: skip
    before = load_average()
    timings = time_calls(calls, repeats=args.repeats, warmup=1, threads=args.threads)
    after = load_average()
    base = timings["teacher"].median_ms
    rows = []
    for name, model in models.items():
        t = timings[name]
        rows.append({"variant": name, "parameters": parameter_count(model),
                     "macs_per_second": count_macs(model, args.seconds) / args.seconds,
                     "median_ms": t.median_ms, "min_ms": t.min_ms, "max_ms": t.max_ms,
                     "vs_teacher": t.median_ms / base})  # fmt: skip
    machine = machine_info()
    print(f"| variant | params (M) | GMACs / s audio | median {args.seconds:g} s (ms) | min-max (ms) | time vs teacher |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['parameters'] / 1e6:.2f} | {r['macs_per_second'] / 1e9:.2f} "
              f"| {r['median_ms']:.0f} | {r['min_ms']:.0f}-{r['max_ms']:.0f} | {r['vs_teacher']:.3f} |")  # fmt: skip
    print(f"\n{machine['cpu']}, {machine['cores']} cores, {args.threads} torch threads, torch "
          f"{machine['torch']}, teacher {args.teacher}, median of {args.repeats}; 1-min load "
          f"average {before[0]:.1f} -> {after[0]:.1f}")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "machine": machine, "threads": args.threads}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
