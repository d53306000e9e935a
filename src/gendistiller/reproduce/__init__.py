"""``gendistiller reproduce``: the paper's comparison and ablations, offline, with seeds.

:mod:`~gendistiller.reproduce.variants` (the students), :mod:`~gendistiller.reproduce.plan`
(scales, jobs), :mod:`~gendistiller.reproduce.run`
(distil and evaluate, resumable), :mod:`~gendistiller.reproduce.results` (mean ± spread,
claims, table), :mod:`~gendistiller.reproduce.plots`.
"""

from gendistiller.reproduce.plan import SCALES, Scale
from gendistiller.reproduce.variants import VARIANTS, Variant

__all__ = ["SCALES", "VARIANTS", "Scale", "Variant"]
