"""What defines a probe task: its data readers, its metric, and its fixed recipe.

Recipes are fixed on purpose: numbers compare across models only if every model gets the
same head, steps, learning rate and batch. They are documented in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gendistiller.errors import ConfigError
from gendistiller.evaluation.probes.data import TaskData
from gendistiller.evaluation.probes.metrics import ItemScores, rate

SEQUENCE, CLASSIFY = "sequence", "classify"
HEADS = ("linear", "conv", "pooled")


@dataclass(frozen=True)
class Recipe:
    """How a task's head is trained on frozen features.

    ``head``: ``linear`` (frame-wise linear layer + CTC, SUPERB's PR head), ``conv``
    (projection, two residual depthwise-separable 1-D convolutions,
    linear + CTC) or ``pooled`` (projection to
    ``head_dim``, mean over valid frames, one linear layer per label slot: SUPERB's
    utterance-level heads). The weighted-sum weights train with the head, same LR.
    Every ``eval_every`` steps the dev metric is computed; the best head is tested.

    ``seeds``: heads trained (probe seeds ``seed``, ``seed + 1``, ...); their per-item
    test scores are averaged into one result, which lowers the probe's own noise.
    ``full_batch`` (``pooled`` heads): every step uses every training item (the loss
    class-weighted when ``balanced``), so only the head's initialisation depends on the
    seed; ``batch_size`` is then unused.
    """

    steps: int
    batch_size: int
    lr: float
    eval_every: int
    head: str
    head_dim: int = 256
    balanced: bool = False  # sample classes uniformly (Speech Commands' unknown class is huge)
    weight_decay: float = 0.0
    seeds: int = 1
    full_batch: bool = False

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "eval_every", "head_dim", "seeds"):
            if int(getattr(self, key)) <= 0:
                raise ConfigError(
                    f"probe recipe: {key} must be a positive integer, got {getattr(self, key)}"
                )
        if not self.lr > 0:
            raise ConfigError(f"probe recipe: lr must be positive, got {self.lr}")
        if self.head not in HEADS:
            raise ConfigError(
                f"probe recipe: head must be one of {', '.join(HEADS)}, got {self.head!r}"
            )
        if self.full_batch and self.head != "pooled":
            raise ConfigError("probe recipe: full_batch needs the pooled head")

    def with_overrides(self, **values: Any) -> Recipe:
        unknown = sorted(set(values) - set(self.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"probe recipe: unknown key {unknown[0]!r}")
        return replace(self, **values)


# refs, hyps -> (numerators, denominators): one of each per item (metrics.ItemScores).
ItemScorer = Callable[[list[tuple[str, ...]], list[tuple[str, ...]]], ItemScores]


@dataclass(frozen=True)
class ProbeTask:
    """A SUPERB-style task. ``per_item(refs, hyps)`` scores each item (a numerator and a
    denominator: right or not over 1, or edits over reference tokens); ``score(refs,
    hyps)`` is the corpus-level metric in percent built from them; ``from_corpus(corpus)`` reads the offline corpus; ``datasets`` maps a standard
    dataset's name to its reader ``reader(root) -> TaskData``."""

    name: str
    title: str
    kind: str  # SEQUENCE or CLASSIFY
    metric: str  # "PER", "WER", "accuracy"
    lower_is_better: bool
    recipe: Recipe
    per_item: ItemScorer
    from_corpus: Callable[[Any], TaskData]
    datasets: dict[str, Callable[..., TaskData]] = field(default_factory=dict)

    def score(self, refs: list[tuple[str, ...]], hyps: list[tuple[str, ...]]) -> float:
        """The metric in percent: ``100 * sum(numerators) / sum(denominators)``."""
        return rate(self.per_item(refs, hyps))

    def chance(self, data: TaskData) -> float:
        """The metric of a trivial answer: the majority class, or the empty transcript."""
        if self.kind == CLASSIFY:
            from gendistiller.evaluation.probes.data import majority_accuracy

            return majority_accuracy(data.train, data.test)
        refs = [ex.label for ex in data.test]
        return self.score(refs, [() for _ in refs])

    def better(self, a: float, b: float) -> bool:
        """Is metric ``a`` better than ``b``?"""
        return a < b if self.lower_is_better else a > b
