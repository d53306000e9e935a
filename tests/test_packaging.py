"""What pyproject.toml declares matches what the code imports, and every module imports.

The bounds check (``make test-bounds``) runs this file against the declared lower bounds,
so "every module imports" there means: with the oldest releases we claim.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "gendistiller"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# Declared but never imported by name: used through another package.
USED_INDIRECTLY = {
    "tensorboard": "lightning's TensorBoardLogger writes the training curves",
    "onnxscript": "torch.onnx.export(dynamo=True) translates the graph with it",
}
# Extras for development, not features a user's import can need.
DEV_EXTRAS = {"test"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist(requirement: str) -> str:
    return _norm(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0))


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level module, imported at module level?) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(name.split(".")[0], id(node) in top_level) for name in names]
    return found


def _third_party() -> dict[str, dict[str, bool]]:
    """dist name -> {module file: imported at module level} for every non-stdlib import."""
    dists = importlib.metadata.packages_distributions()
    used: dict[str, dict[str, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, eager in _imports(path):
            if module in sys.stdlib_module_names or module in ("gendistiller", "__future__"):
                continue
            assert module in dists, f"{path.relative_to(ROOT)} imports {module!r}: not installed"
            for dist in dists[module]:
                where = used.setdefault(_norm(dist), {})
                rel = str(path.relative_to(ROOT))
                where[rel] = where.get(rel, False) or eager
    return used


def test_every_third_party_import_is_declared():
    core = {_dist(r) for r in PROJECT["dependencies"]}
    extras = {
        name: {_dist(r) for r in reqs}
        for name, reqs in PROJECT["optional-dependencies"].items()
        if name not in DEV_EXTRAS
    }
    problems = []
    for dist, files in _third_party().items():
        if dist in core:
            continue
        guards = [name for name, reqs in extras.items() if dist in reqs]
        if not guards:
            problems.append(f"{dist} (imported in {', '.join(files)}) is not declared")
        elif any(files.values()):  # an extra only guards imports made when the feature runs
            eager = [f for f, at_top in files.items() if at_top]
            problems.append(f"{dist} is in extra {guards} but imported at module level in {eager}")
    assert not problems, "\n".join(problems)


def test_every_declared_dependency_is_used():
    used = set(_third_party())
    declared = {_dist(r) for r in PROJECT["dependencies"]}
    for name, reqs in PROJECT["optional-dependencies"].items():
        if name not in DEV_EXTRAS:
            declared |= {_dist(r) for r in reqs}
    unused = declared - used - set(USED_INDIRECTLY)
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_every_requirement_has_a_lower_bound():
    """tools/lower_bounds.py must find one ``>=`` per requirement: that is what gets tested."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import lower_bounds
    finally:
        sys.path.pop(0)
    extras = ",".join(PROJECT["optional-dependencies"])
    lines = lower_bounds.requirements(ROOT / "pyproject.toml", extras.split(","), [], set())
    assert len(lines) == len({_dist(r) for r in _all_requirements()})
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9a-z.]*", line) for line in lines), lines


def _all_requirements() -> list[str]:
    reqs = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        reqs += extra
    return reqs


_MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
)


@pytest.mark.parametrize("module", _MODULES)
def test_every_module_imports(module):
    importlib.import_module(module)
