"""``gendistiller reproduce --scale smoke|cpu``: distil the embedded teacher into the
baseline, GenDistiller and its ablations with several seeds, evaluate them, and write
the table, the claims and the plots (``--results``, default ``OUT/results``)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import shlex
import sys
from pathlib import Path

from gendistiller.reproduce.plan import SCALES, VARIANT_NAMES
from gendistiller.teachers import EMBEDDED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="cpu", choices=sorted(SCALES),
                        help="smoke: seconds, for tests; cpu: the published run (about an hour on 2 cores)")  # fmt: skip
    parser.add_argument(
        "--out", default="", help="work folder (default: runs/reproduce-SCALE); a rerun resumes it"
    )
    parser.add_argument(
        "--results", default="", help="folder for results.md/json and plots (default: OUT/results)"
    )
    parser.add_argument(
        "--variants", default="", help=f"comma-separated subset of: {', '.join(VARIANT_NAMES)}"
    )
    parser.add_argument(
        "--teacher", default=EMBEDDED, help="teacher spec (default: the embedded teacher)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="students trained and evaluated in parallel"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per worker (and for timing)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from gendistiller.evaluation.efficiency import machine_info
    from gendistiller.reproduce import results
    from gendistiller.reproduce.plan import get_scale, select_variants
    from gendistiller.reproduce.run import reproduce
    from gendistiller.training.cli import setup_logging

    setup_logging()
    scale = get_scale(args.scale)
    variants = select_variants([v.strip() for v in args.variants.split(",") if v.strip()])
    out = Path(args.out or f"runs/reproduce-{scale.name}")
    say = _silent if args.quiet else functools.partial(print, flush=True)
    wall = reproduce(scale, variants, out, teacher=args.teacher, workers=args.workers,
              threads=args.threads, progress=not args.quiet, say=say)  # fmt: skip
    machine = machine_info(args.threads)
    meta = {
        "scale": scale.name,
        "command": "gendistiller " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "machine": f"{machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}",
        "wall_minutes": round(wall["seconds"] / 60, 1),
        "invocations": wall["invocations"],
        "teacher_spec": args.teacher,
        "scale_settings": dataclasses.asdict(scale),
    }
    folder = Path(args.results) if args.results else out / "results"
    results.write(results.build(out, scale.tasks, meta), folder)
    print(f"wrote {folder / 'results.md'}")
    return 0


def _silent(message: str) -> None:
    pass
