"""``gendistiller benchmark``: parameters, MACs, CPU latency, RTF and peak memory, side by side.

Default models: the two 768-d student presets and a WavLM Base+ shaped teacher with
random weights (cost does not depend on the weights)::

    gendistiller benchmark --out bench/
    gendistiller benchmark teacher=microsoft/wavlm-base-plus student=runs/x/student

Prints the JSON (``--json``) or the markdown table, and writes ``benchmark.json``,
``benchmark.md`` and ``benchmark.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from gendistiller.errors import ConfigError
from gendistiller.evaluation import plots
from gendistiller.evaluation.efficiency import benchmark, load_upstreams
from gendistiller.evaluation.evaluate import parse_models
from gendistiller.evaluation.report import efficiency_table, write_json

DEFAULT_MODELS = (
    "teacher=random:wavlm",
    "gendistiller=gendistiller-base",
    "distilhubert=distilhubert-base",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="NAME=SPEC", default=list(DEFAULT_MODELS),
                        help="models (student folder or preset, teacher spec); default: " + " ".join(DEFAULT_MODELS))  # fmt: skip
    parser.add_argument(
        "--out", default="", help="folder for benchmark.json, benchmark.md and benchmark.png"
    )
    parser.add_argument(
        "--teacher", default="", help="reference model for the ratios (default: the first teacher)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per model and input length (median)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0: torch's default, usually the cores)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip peak memory (one child process per model)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.repeats < 1:
        raise ConfigError("--repeats: must be at least 1")
    upstreams = load_upstreams(parse_models(args.models))
    bench = benchmark(
        upstreams, repeats=args.repeats, memory=not args.no_memory, reference=args.teacher or None,
        progress=not args.quiet,
    )  # fmt: skip
    table = efficiency_table(bench)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "benchmark.json", bench)
        (out / "benchmark.md").write_text(
            table + "\n\n![efficiency](benchmark.png)\n", encoding="utf-8"
        )
        plots.efficiency_chart(bench, out / "benchmark.png")
    print(json.dumps(bench, indent=1) if args.json else table)
    return 0
