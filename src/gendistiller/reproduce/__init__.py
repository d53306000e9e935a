"""``gendistiller reproduce``: the paper's comparison and ablations, offline, with seeds.

:mod:`~gendistiller.reproduce.plan` (variants and scales), :mod:`~gendistiller.reproduce.run`
(distil and evaluate, resumable), :mod:`~gendistiller.reproduce.results` (mean ± spread,
claims, table), :mod:`~gendistiller.reproduce.plots`.
"""

from gendistiller.reproduce.plan import SCALES, VARIANTS, Scale, Variant

__all__ = ["SCALES", "VARIANTS", "Scale", "Variant"]
