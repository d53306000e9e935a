"""``gendistiller pretrain-teacher``: pretrain the small embedded teacher on the offline corpus."""

from __future__ import annotations

import argparse

from gendistiller.config import describe, resolve
from gendistiller.pretraining.config import PretrainConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "options (KEY=VALUE, shown with their defaults):\n" + "\n".join(
        describe(PretrainConfig)
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="e.g. steps=400 out=runs/t"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--install",
        action="store_true",
        help="after training, evaluate against the random-weight twin and copy the teacher and its "
        "model card into the package (what a release does)",
    )


def run(args: argparse.Namespace) -> int:
    cfg = resolve(PretrainConfig, {}, args.overrides)
    from gendistiller.pretraining.run import pretrain
    from gendistiller.training.cli import setup_logging

    setup_logging()
    result = pretrain(cfg, progress=not args.quiet)
    print(
        f"teacher: {result.teacher_dir}  ({result.steps} steps, {result.seconds / 60:.1f} min, "
        f"final masked loss {result.final_loss:.3f}, masked accuracy {result.final_masked_accuracy:.3f})"
    )
    if args.install:
        from gendistiller.pretraining.card import install_embedded

        print(f"installed: {install_embedded(cfg, result, progress=not args.quiet)}")
    return 0
