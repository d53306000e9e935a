"""``gendistiller evaluate``'s command line: the flags are generated from
:class:`~gendistiller.evaluation.evaluate_config.EvaluateConfig`'s fields (defaults and help
written once, there); models are positional ``NAME=SPEC``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from gendistiller.config import add_flags, from_flags
from gendistiller.evaluation.evaluate import evaluate
from gendistiller.evaluation.evaluate_config import EvaluateConfig, parse_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", metavar="NAME=SPEC",
                        help="models to compare: a saved student folder (or run folder), a student preset, "
                             "or a teacher (hub id, folder, random:TYPE[-tiny])")  # fmt: skip
    add_flags(parser, EvaluateConfig, exclude=("models", "command"))


def run(args: argparse.Namespace) -> int:
    command = sys.argv[1:]
    cfg = from_flags(
        EvaluateConfig,
        args,
        models=parse_models(args.models),
        command="gendistiller " + " ".join(shlex.quote(a) for a in command)
        if command[:1] == ["evaluate"]
        else "",
    )
    report = evaluate(cfg)
    print(
        f"wrote {Path(cfg.out) / 'report.md'} and report.json ({report['timings_s']['total']:.0f} s)"
    )
    return 0
