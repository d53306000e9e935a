"""One way to measure: latency (one timer), parameters and MACs, memory, machine, targets.

Everything that reports a cost goes through here: ``gendistiller benchmark`` and
``gendistiller evaluate`` (:mod:`gendistiller.evaluation.efficiency`), the export's int8
speed-up, the reproduction's timing table and ``benchmarks/``. Models are taken as they
are: anything called as ``model(waveforms [B, N], lengths [B]) -> output`` (a PyTorch
encoder or an ONNX session wrapper), with ``model.config`` for what the config says.
"""

from gendistiller.measure.cost import count_macs, macs_by_op, parameter_count
from gendistiller.measure.machine import machine_info
from gendistiller.measure.memory import peak_memory
from gendistiller.measure.targets import TARGETS, Target, check_targets, targets_table
from gendistiller.measure.timer import Timing, forward, ratios, time_calls, torch_threads

__all__ = [
    "TARGETS",
    "Target",
    "Timing",
    "check_targets",
    "count_macs",
    "forward",
    "machine_info",
    "macs_by_op",
    "parameter_count",
    "peak_memory",
    "ratios",
    "targets_table",
    "time_calls",
    "torch_threads",
]
