"""``gendistiller demo``: the main job, end to end, on the embedded offline defaults.

Runs every stage that exists in this version and says plainly which ones do not yet.
"""

from __future__ import annotations

import argparse

import torch

from gendistiller.loss import DistillationLoss
from gendistiller.students import build_student
from gendistiller.students.components import lengths_to_mask
from gendistiller.students.info import describe
from gendistiller.teachers import load_teacher

MISSING = [
    "offline speech corpus (`gendistiller corpus`)",
    "distillation training (`gendistiller distill`)",
    "evaluation (`gendistiller evaluate`)",
    "embedded pretrained teacher",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def run(args: argparse.Namespace) -> int:
    torch.manual_seed(args.seed)
    for preset in ("gendistiller-base", "distilhubert-base"):
        facts = describe(preset)
        print(f"{preset}: {facts['parameters'] / 1e6:.2f}M deployed, {facts['training_parameters'] / 1e6:.2f}M in training")
    teacher = load_teacher("random:wavlm-tiny", seed=args.seed)
    student = build_student("gendistiller-tiny")
    student.init_from_teacher(teacher)
    waves = torch.randn(2, 32000) * 0.1
    lengths = torch.tensor([32000, 24000])
    t = teacher(waves, lengths)
    s = student(waves, lengths)
    mask = lengths_to_mask(s.lengths, s.hidden_states[0].shape[1])
    out = DistillationLoss()(s.predictions, [t.hidden_states[k] for k in student.config.target_layers], mask)
    print(f"one distillation step on a tiny random teacher: loss {out.total.item():.3f}")
    print("not in this version yet: " + "; ".join(MISSING))
    return 0
