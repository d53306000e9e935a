"""Exported folders load, and give the student's states, in the users' transformers.

The folders are written by this interpreter (gendistiller and its declared dependencies)
and loaded by other interpreters that have only torch, transformers and safetensors:
what someone downloading the model from a hub has. Which interpreters: the paths in
``GENDISTILLER_EXPORT_LOADERS`` (space-separated; ``make test-bounds`` passes one with the
oldest transformers each export claims and one with the newest), else this interpreter.
Each loader reports its transformers version; an export is loaded only by loaders inside
the range its README states (``gendistiller.export.transformers.TRANSFORMERS_RANGE``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from packaging.version import Version

from gendistiller.export.parity import synthetic_speech
from gendistiller.export.transformers import TRANSFORMERS_RANGE, export_transformers
from gendistiller.students import build_student

LOADERS = os.environ.get("GENDISTILLER_EXPORT_LOADERS", "").split() or [sys.executable]


_PRESETS = {"hubert": "distilhubert-tiny", "remote_code": "gendistiller-tiny"}


def _version(python: str) -> str:
    code = "import importlib.metadata as m; print(m.version('transformers'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def students():
    torch.manual_seed(0)
    return {usage: build_student(name).eval() for usage, name in _PRESETS.items()}


@pytest.mark.parametrize("python", LOADERS)
def test_exports_load_in_every_claimed_transformers(
    python, students, tmp_path, load_with_plain_transformers
):
    version = Version(_version(python).strip())
    usages = [u for u in _PRESETS if version >= Version(TRANSFORMERS_RANGE[u])]
    assert usages, f"{python}: transformers {version} is below every export's range"
    wave = synthetic_speech(23_456)[None]
    np.save(tmp_path / "wave.npy", wave)
    folders = {}
    for usage in usages:
        folders[usage] = tmp_path / usage
        export_transformers(students[usage], folders[usage])
        card = (folders[usage] / "README.md").read_text(encoding="utf-8")
        assert f"transformers >= {TRANSFORMERS_RANGE[usage]}" in card
    stdout = load_with_plain_transformers(python, tmp_path / "wave.npy", folders.values(), tmp_path)
    print(python, json.loads(stdout.strip().splitlines()[-1]), usages)
    for usage, folder in folders.items():
        with torch.no_grad():
            ours = torch.stack(students[usage](torch.from_numpy(wave)).hidden_states).numpy()
        theirs = np.load(f"{folder}.states.npy")
        assert theirs.shape == ours.shape
        np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0, err_msg=f"{usage} {version}")


def test_the_model_entry_module_names_every_shipped_file():
    """What transformers 5.4-5.9 need to copy a local folder's code (see remote_code)."""
    from gendistiller.export.remote_code import auto_map, remote_code_files
    from gendistiller.students import GenDistillerConfig, GenDistillerModel

    files = remote_code_files(GenDistillerConfig, GenDistillerModel)
    entry = auto_map(GenDistillerConfig, GenDistillerModel)["AutoModel"].split(".")[0]
    named = set(re.findall(r"^\s*from\s+\.(\w+)\s+import", files[f"{entry}.py"], re.MULTILINE))
    assert {name.removesuffix(".py") for name in files} - {entry} <= named
