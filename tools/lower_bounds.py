"""Print pip requirements pinning every declared dependency at its declared lower bound.

The bounds check (``make test-bounds``) installs what this prints, so the ranges in
``pyproject.toml`` and the versions tested cannot drift apart. A requirement without a
``>=`` bound is an error: a range we do not test is a range we cannot claim.

    python tools/lower_bounds.py [--extras export,test] [--pin torch==2.13.0] [--skip ruff]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the bounds check needs 3.11 or tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")


def lower_bound(requirement: str) -> tuple[str, str]:
    """``"numpy>=1.26,<3"`` -> ``("numpy", "1.26")``."""
    match = _REQ.match(requirement.split(";")[0])
    if not match:
        raise ValueError(f"pyproject.toml: cannot parse requirement {requirement!r}")
    name, spec = match.groups()
    bounds = [s.strip()[2:].strip() for s in spec.split(",") if s.strip().startswith(">=")]
    if len(bounds) != 1:
        raise ValueError(f"pyproject.toml: {requirement!r} has no single '>=' lower bound")
    return name, bounds[0]


def requirements(pyproject: Path, extras: list[str], pins: list[str], skip: set[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in extras:
        declared += project["optional-dependencies"][extra]
    pinned = {lower_bound(p.replace("==", ">=", 1))[0].lower(): p for p in pins}
    lines: dict[str, str] = {}
    for requirement in declared:
        name, version = lower_bound(requirement)
        key = name.lower()
        if key in skip:
            continue
        lines[key] = pinned.pop(key, f"{name}=={version}")
    return list(lines.values()) + list(pinned.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--extras", default="", help="comma-separated optional extras")
    parser.add_argument("--pin", action="append", default=[], help="NAME==VERSION instead")
    parser.add_argument("--skip", action="append", default=[], help="leave NAME out")
    args = parser.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    try:
        lines = requirements(args.pyproject, extras, args.pin, {s.lower() for s in args.skip})
    except (ValueError, KeyError) as err:
        print(f"lower_bounds: {err}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
