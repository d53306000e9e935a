"""``gendistiller distill``: train a student from a teacher on unlabeled audio."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from gendistiller.config import HelpFormatter, describe
from gendistiller.training.config import DistillConfig, load_config, recipe_names, recipe_text

EXAMPLES = """\
examples:
  gendistiller distill --config tiny data.root=DIR
  gendistiller distill --config gendistiller-wavlm-base-plus data.root=/data/LibriSpeech
  gendistiller distill --config my.yaml trainer.devices=4 data.batch_size=6 trainer.precision=bf16-mixed
  gendistiller distill --config tiny data.root=DIR --resume runs/tiny/checkpoints/step-000000040.ckpt
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = HelpFormatter
    parser.epilog = (
        EXAMPLES
        + "\nrecipes: "
        + ", ".join(recipe_names())
        + "\n\noptions (set in the recipe YAML or as section.key=value; shown with their defaults):\n"
        + "\n".join(describe(DistillConfig))
    )
    parser.add_argument(
        "--config",
        "-c",
        metavar="RECIPE",
        default=None,
        help="a shipped recipe name or a YAML file",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="dotted overrides, e.g. trainer.max_steps=1000 data.root=/data/LibriSpeech",
    )
    parser.add_argument(
        "--resume",
        metavar="CKPT",
        default=None,
        help="same as run.resume=CKPT (auto, never, or a checkpoint file)",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config as YAML and exit"
    )
    parser.add_argument(
        "--list-recipes", action="store_true", help="list the shipped recipes and exit"
    )
    parser.add_argument(
        "--show-recipe", metavar="NAME", default=None, help="print a shipped recipe and exit"
    )


def run(args: argparse.Namespace) -> int:
    from gendistiller.errors import ConfigError

    if args.list_recipes:
        print("\n".join(recipe_names()))
        return 0
    if args.show_recipe:
        if args.show_recipe not in recipe_names():
            raise ConfigError(
                f"--show-recipe: no recipe {args.show_recipe!r} ({', '.join(recipe_names())})"
            )
        print(recipe_text(args.show_recipe), end="")
        return 0
    if not args.config:
        raise ConfigError(
            f"--config: required; a recipe ({', '.join(recipe_names())}) or a YAML file"
        )
    overrides = list(args.overrides)
    if args.resume:
        overrides.append(f"run.resume={args.resume}")
    cfg = load_config(args.config, overrides)
    if args.print_config:
        import yaml

        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="")
        return 0

    setup_logging()
    from lightning.pytorch.utilities import rank_zero_only

    from gendistiller.training.run import train

    result = train(cfg)
    if rank_zero_only.rank == 0:
        print(
            f"student: {result.student_dir}  (step {result.global_step}; run folder {result.run_dir})"
        )
    return 0


def setup_logging() -> None:
    """gendistiller's log records to stderr as plain lines (errors only on ranks > 0)."""
    # Lightning's rank: from RANK/LOCAL_RANK/SLURM_PROCID now, the trainer's once it runs
    from lightning.pytorch.utilities import rank_zero_only

    logger = logging.getLogger("gendistiller")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        logger.addHandler(handler)
    # other ranks repeat what rank 0 says; keep only their errors
    logger.setLevel(logging.INFO if rank_zero_only.rank == 0 else logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # noise from Lightning's use of a torch API deprecated in torch 2.13
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r"`training_step` returned `None`")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after setup)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "warning: " if record.levelno == logging.WARNING else ""
        if record.levelno >= logging.ERROR:
            prefix = "error: "
        return prefix + record.getMessage()
