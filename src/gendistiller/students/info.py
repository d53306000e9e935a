"""``gendistiller info``: a student's size and shape, from a preset name or a saved folder.

Built on the meta device, so it costs no memory or time and never touches a teacher.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from gendistiller.students.io import build_student, read_config
from gendistiller.students.presets import PRESETS, get_preset


def describe(name_or_dir: str) -> dict[str, Any]:
    """Facts about a student preset or saved folder, as one JSON-able dict."""
    if name_or_dir in PRESETS and not Path(name_or_dir).exists():
        config = get_preset(name_or_dir)
    else:
        config = read_config(name_or_dir)
    with torch.device("meta"):
        model = build_student(config)
    return {
        "name": name_or_dir,
        "architecture": type(model).__name__,
        "model_type": config.model_type,
        "parameters": model.num_parameters(deployed=True),
        "training_parameters": model.num_parameters(deployed=False),
        "hidden_size": config.hidden_size,
        "num_hidden_states": model.num_hidden_states,
        "target_layers": list(config.target_layers),
        "stride": config.stride,
        "receptive_field": config.receptive_field,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "student",
        metavar="PRESET_OR_DIR",
        help=f"a preset ({', '.join(PRESETS)}) or a saved student folder",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )


def run(args: argparse.Namespace) -> int:
    facts = describe(args.student)
    if args.json:
        print(json.dumps(facts))
        return 0
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if isinstance(value, int) and key.endswith("parameters"):
            value = f"{value:,} ({value / 1e6:.2f}M)"
        print(f"{key:<{width}}  {value}")
    return 0
