"""``gendistiller reproduce --scale smoke|cpu``: distil the embedded teacher into the
baseline, GenDistiller and its ablations with several seeds, evaluate them, and write
the table, the claims and the plots (``--results``, default ``OUT/results``)."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from pathlib import Path

from gendistiller.config import add_flags, from_flags
from gendistiller.reproduce.plan import ReproduceConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flags(parser, ReproduceConfig)


def run(args: argparse.Namespace) -> int:
    from gendistiller.measure import machine_info
    from gendistiller.reproduce import results
    from gendistiller.reproduce.plan import get_scale, select_variants
    from gendistiller.reproduce.run import reproduce
    from gendistiller.training.cli import setup_logging

    opts = from_flags(ReproduceConfig, args)  # checked before any work
    setup_logging()
    scale = get_scale(opts.scale)
    variants = select_variants(opts.variants)
    out = opts.out_dir
    say = _silent if not opts.progress else functools.partial(print, flush=True)
    wall = reproduce(scale, variants, out, teacher=opts.teacher, workers=opts.workers,
              threads=opts.threads, progress=opts.progress, say=say)  # fmt: skip
    machine = machine_info(opts.threads)
    meta = {
        "scale": scale.name,
        "command": "gendistiller " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "machine": f"{machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}",
        "wall_minutes": round(wall["seconds"] / 60, 1),
        "invocations": wall["invocations"],
        "workers": opts.workers,  # this invocation's, as the threads
        "threads": opts.threads,
        "teacher_spec": opts.teacher,
        "scale_settings": scale.to_dict(),
    }
    folder = Path(opts.results) if opts.results else out / "results"
    results.write(results.build(out, scale.tasks, meta), folder)
    print(f"wrote {folder / 'results.md'}")
    return 0


def _silent(message: str) -> None:
    pass
