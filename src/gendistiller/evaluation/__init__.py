"""Evaluation: how faithful a student is to its teacher (:mod:`.fidelity`), how good its
features are for downstream tasks (:mod:`.probes`), what it costs to run
(:mod:`.efficiency`), the SUPERB upstream contract (:mod:`.superb`), and one report for
several models side by side (:mod:`.evaluate`, :mod:`.report`)."""

from gendistiller.evaluation.efficiency import benchmark
from gendistiller.evaluation.fidelity import FidelityResult, fidelity, linear_cka
from gendistiller.evaluation.superb import Upstream, UpstreamExpert, UpstreamOutput, load_upstream
from gendistiller.measure import count_macs

__all__ = [
    "FidelityResult",
    "Upstream",
    "UpstreamExpert",
    "UpstreamOutput",
    "benchmark",
    "count_macs",
    "fidelity",
    "linear_cka",
    "load_upstream",
]
