"""``gendistiller info``: an encoder's size and shape, from any spec :func:`load_encoder` takes.

Students (presets and saved folders) are built on the meta device, so they cost no memory
or time; their weights are never read.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from gendistiller.encoders.resolve import load_encoder
from gendistiller.students.presets import PRESETS


def describe(spec: str) -> dict[str, Any]:
    """Facts about the encoder ``spec`` names, as one JSON-able dict."""
    model = load_encoder(spec, device="meta")
    config = model.config
    return {
        "name": spec,
        "architecture": type(getattr(model, "model", model)).__name__,
        "model_type": config.model_type,
        "parameters": model.parameter_count(),
        "training_parameters": model.parameter_count(training=True),
        "hidden_size": model.hidden_size,
        "num_hidden_states": model.num_hidden_states,
        "target_layers": list(getattr(config, "target_layers", [])),
        "stride": model.geometry.stride,
        "receptive_field": model.geometry.receptive_field,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "student",
        metavar="MODEL",
        help=f"a preset ({', '.join(PRESETS)}), a saved student or run folder, or any "
        "model spec (docs/encoders.md)",
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
