"""Peak memory of one forward pass, measured in a fresh child process.

A fresh process, because a process's peak resident set only grows: measured in the
benchmark's own process it would be the peak of whatever ran before. The child imports
torch and the project, restarts the high-water mark, records its resident size, loads
the model with ``loader`` (``"module:function"`` taking the spec: the caller's own model
resolver) and runs one forward pass; it prints the peak and the peak above that size.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys

import torch

from gendistiller.audio import SAMPLE_RATE
from gendistiller.errors import GenDistillerError


def peak_memory(
    spec: str, *, loader: str, seconds: float = 10, threads: int | None = None
) -> dict[str, float]:
    """``{"peak_rss_mib", "peak_rss_delta_mib"}`` of a child running ``spec`` on ``seconds``."""
    code = "import sys; from gendistiller.measure.memory import _child; _child(*sys.argv[1:])"
    cmd = [sys.executable, "-c", code, loader, spec, str(seconds), str(threads or 0)]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise GenDistillerError(f"peak memory of {spec}: child process failed ({tail})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(loader: str, spec: str, seconds: str, threads: str) -> None:
    """Runs in the child process (see :func:`peak_memory`); prints one JSON line."""
    if int(threads) > 0:
        torch.set_num_threads(int(threads))
    module, _, function = loader.partition(":")
    load = getattr(importlib.import_module(module), function)
    # Imports may have peaked above what the model needs: restart the high-water mark.
    _reset_peak_rss()
    baseline = rss_mib("VmRSS")
    model = load(spec)
    n = int(float(seconds) * SAMPLE_RATE)
    with torch.no_grad():
        model(torch.randn(1, n) * 0.1, torch.tensor([n]))
    peak = rss_mib("VmHWM")
    delta = round(max(peak - baseline, 0.0), 1)
    print(json.dumps({"peak_rss_mib": round(peak, 1), "peak_rss_delta_mib": delta}))


def _reset_peak_rss() -> None:
    try:  # Linux >= 4.0: "5" resets the peak resident set size (VmHWM) to the current one
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def rss_mib(field: str = "VmHWM") -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) from /proc, else the rusage peak (other systems)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024
