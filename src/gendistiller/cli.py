"""The ``gendistiller`` command.

Thin on purpose: each sub-command lives next to the code it drives, in a module that
exposes ``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their sub-command runs (or for ``--help``), so ``gendistiller info`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gendistiller.config.flags import HelpFormatter

# (name, module, one-line help). Keep in pipeline order.
COMMANDS: list[tuple[str, str, str]] = [
    ("corpus", "gendistiller.corpus.cli", "build or reuse the offline synthetic speech corpus"),
    (
        "distill",
        "gendistiller.training.cli",
        "train a student from a teacher on unlabeled audio (recipes, resume, DDP)",
    ),
    (
        "pretrain-teacher",
        "gendistiller.pretraining.cli",
        "pretrain the small embedded teacher (HuBERT-style) on the offline corpus",
    ),
    (
        "info",
        "gendistiller.students.info",
        "sizes and shape of any model spec (student, teacher, .onnx)",
    ),
    (
        "export",
        "gendistiller.export.cli",
        "ship a student: transformers checkpoint, ONNX or int8 ONNX, checked",
    ),
    (
        "features",
        "gendistiller.export.features",
        "hidden states of every audio file in a folder (any length, resumable)",
    ),
    ("evaluate", "gendistiller.evaluation.evaluate_cli", "compare models: fidelity, probes, cost"),
    ("benchmark", "gendistiller.evaluation.benchmark", "params, MACs, CPU latency, RTF, memory"),
    (
        "reproduce",
        "gendistiller.reproduce.cli",
        "the paper's comparison and ablations offline, several seeds, one table",
    ),
    ("demo", "gendistiller.demo", "the main job end to end on the embedded offline defaults"),
]


class CommandError(Exception):
    """An error the CLI reports as one line on stderr with exit status 2."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gendistiller",
        description="Distil self-supervised speech models into small students (GenDistiller, DistilHuBERT).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in COMMANDS:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=HelpFormatter,
        )
        if only is None or only == name:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {name for name, _, _ in COMMANDS}
    only = argv[0] if argv and argv[0] in known else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        print("gendistiller: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - user-facing errors are one line
        if _is_user_error(err):
            print(f"gendistiller {args.command}: error: {err}", file=sys.stderr)
            return 2
        raise


def _is_user_error(err: Exception) -> bool:
    from gendistiller.errors import GenDistillerError

    return isinstance(err, (GenDistillerError, CommandError))


if __name__ == "__main__":
    sys.exit(main())
