"""The wheel, installed as users install it, works without the source tree.

The suite otherwise runs against an editable install, which reads recipes and the embedded
teacher straight from ``src/``: a file missing from the wheel's package data would only show
on a user's machine. Here the wheel is built from a copy of the sources, installed with
``pip install --no-deps --target`` into a temporary folder, and driven from a working
directory outside the tree, through the installed ``gendistiller`` entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], site: Path, cwd: Path, timeout: float = 300) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["GENDISTILLER_CACHE"] = str(cwd / "cache")
    # -P: the working directory is not put on sys.path either.
    proc = subprocess.run(
        [sys.executable, "-P", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site folder holding the installed wheel, a working folder outside the tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src-copy"  # build from a copy: no build/ or egg-info left in the tree
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheel_cmd = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)]
    subprocess.run(wheel_cmd, check=True, capture_output=True, cwd=tmp)
    (wheel,) = dist.glob("gendistiller-*.whl")
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    work = tmp / "work"
    work.mkdir()
    return wheel, site, work


def test_wheel_carries_the_package_data(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = {p.name for p in (ROOT / "src/gendistiller/recipes").glob("*.yaml")}
    assert recipes and {f"gendistiller/recipes/{r}" for r in recipes} <= names
    assets = ROOT / "src/gendistiller/assets"
    shipped = {str(p.relative_to(assets.parent.parent)) for p in assets.rglob("*") if p.is_file()}
    assert shipped and shipped <= names, sorted(shipped - names)


def test_installed_package_is_the_one_imported_and_loads_the_embedded_teacher(installed):
    _, site, work = installed
    out = _run(
        [
            "-c",
            "import json, torch, gendistiller\n"
            "t = gendistiller.load_teacher('embedded')\n"
            "states = t(torch.zeros(1, 16000), torch.tensor([16000])).hidden_states\n"
            "print(json.dumps({'file': gendistiller.__file__, 'states': len(states)}))",
        ],
        site,
        work,
    )
    facts = json.loads(out.strip().splitlines()[-1])
    assert Path(facts["file"]).is_relative_to(site), facts["file"]
    assert facts["states"] == 7  # the embedded HuBERT: 6 blocks + the front-end's output


def test_installed_entry_point_runs_info_and_a_tiny_distillation(installed):
    _, site, work = installed
    script = site / "bin" / "gendistiller"
    facts = json.loads(_run([str(script), "info", "gendistiller-tiny", "--json"], site, work))
    assert facts["name"] == "gendistiller-tiny"

    audio = work / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        sf.write(audio / f"{i}.wav", (0.1 * rng.standard_normal(12_000)).astype(np.float32), 16000)
    _run(
        [
            str(script),
            "distill",
            "--config",
            "tiny",  # the recipe must come from the installed package data
            f"data.root={audio}",
            f"run.dir={work / 'run'}",
            "trainer.max_steps=3",
            "checkpoint.every_n_steps=3",
            "trainer.progress_bar=false",
        ],
        site,
        work,
    )
    assert (work / "run" / "student" / "model.safetensors").is_file()
