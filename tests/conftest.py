"""Shared fixtures: tiny models and short synthetic waveforms, all offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="session")
def one_torch_thread():
    """Tiny models on a busy shared machine: a thread pool waiting for cores costs far more
    than it gains (a tiny forward pass measured 10-50x slower with two threads). Folders
    whose tests all run tiny models request it for every test in their conftest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def waves() -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch of three utterances of different lengths, and their lengths."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([16000, 11000, 6400])
    x = torch.randn(3, 16000, generator=g) * 0.1
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0.0
    return x, lengths


@pytest.fixture(scope="session")
def tiny_teacher():
    from gendistiller.teachers import load_teacher

    return load_teacher("random:wavlm-tiny")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """The smallest offline corpus, synthesised once per test session by two workers (so
    that a rebuild with one shows the worker count does not matter). Read-only: a test
    that changes it works on a copy."""
    from gendistiller.corpus import build_corpus

    root = tmp_path_factory.mktemp("corpus") / "tiny"
    return build_corpus(root, size="tiny", workers=2, progress=False)


# Runs in a fresh interpreter that never imports gendistiller: what a user of an exported
# folder has. Saves each folder's hidden states for one waveform, prints "FOLDER CLASS" per
# folder, then the versions it ran with as a JSON line.
_PLAIN_TRANSFORMERS_LOADER = """
import json, sys
import numpy as np, torch, transformers
from transformers import AutoModel

wave = torch.from_numpy(np.load(sys.argv[1]))
for folder in sys.argv[2:]:
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad():
        if type(model).__name__ == "HubertModel":
            states = model(wave, output_hidden_states=True).hidden_states
        else:
            states = model(wave).hidden_states
    np.save(folder + ".states.npy", torch.stack(list(states)).numpy())
    print(folder, type(model).__name__)
assert "gendistiller" not in sys.modules, "the exported folders must load without gendistiller"
print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__}))
"""


@pytest.fixture(scope="session")
def load_with_plain_transformers():
    """``load(python, wave_file, folders, workdir) -> stdout``: loads each exported folder in
    interpreter ``python`` with transformers alone (no PYTHONPATH, offline, remote code cached
    under ``workdir``), writing ``FOLDER.states.npy`` beside each folder."""

    def load(python, wave_file, folders, workdir) -> str:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(HF_MODULES_CACHE=str(Path(workdir) / "modules"), HF_HUB_OFFLINE="1")
        args = [python, "-c", _PLAIN_TRANSFORMERS_LOADER, str(wave_file), *map(str, folders)]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=workdir)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    return load
