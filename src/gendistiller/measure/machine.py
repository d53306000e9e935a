"""The machine a measurement ran on, collected in one place for every report."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import torch


def cpu_model() -> str:
    """The CPU's model name (``lscpu``'s "Model name"), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """Cores this process may run on (the affinity mask: containers and taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: how busy a shared machine was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on Windows
        return None


def machine_info(threads: int | None = None) -> dict:
    """CPU, cores, torch threads, library versions and the load average now."""
    try:
        onnxruntime = metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        onnxruntime = None
    return {
        "cpu": cpu_model(),
        "cores": cores(),
        "threads": threads or torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": load_average(),
    }
