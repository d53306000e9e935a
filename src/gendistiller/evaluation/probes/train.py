"""Train one probe on cached features, pick the best head on dev, score it on test."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import Example, TaskData
from gendistiller.evaluation.probes.heads import Probe
from gendistiller.evaluation.probes.metrics import Vocabulary, ctc_greedy, rate
from gendistiller.evaluation.probes.store import FeatureStore
from gendistiller.evaluation.probes.task import CLASSIFY, ProbeTask, Recipe

log = logging.getLogger(__name__)

EVAL_BATCH = 32
SHOWN_EXAMPLES = 3


@dataclass
class ProbeResult:
    """A trained probe's scores (percent) and what it learnt about the layers.

    ``items``: the test split's per-item scores, ``{"ids": [example id, ...], "num":
    [...], "den": [...]}`` (right or not over 1, or edits over reference tokens; with
    several probe seeds the numerators are their mean), whose corpus-level ratio is
    ``test``: the input of :func:`gendistiller.evaluation.statistics.compare`.
    ``per_seed``: each trained head's seed, test and dev scores and chosen step (the
    other fields average them; ``best_step`` and ``samples`` are the first head's).
    """

    task: str
    metric: str
    lower_is_better: bool
    test: float
    dev: float
    chance: float
    layer_weights: list[float]
    best_step: int
    recipe: dict
    sizes: dict
    seconds: float
    samples: list[dict] = field(default_factory=list)  # a few test (reference, hypothesis) pairs
    items: dict = field(default_factory=dict)
    per_seed: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def train_probe(
    task: ProbeTask,
    data: TaskData,
    store: FeatureStore,
    *,
    recipe: Recipe | None = None,
    seed: int = 0,
    threads: int | None = 1,
    progress: bool = False,
) -> ProbeResult:
    """Train ``task``'s head with a weighted sum over ``store``'s states, fixed ``recipe``
    (``recipe.seeds`` heads, probe seeds ``seed``, ``seed + 1``, ...).

    ``threads``: torch threads while training (``None``: leave as is). Heads are small:
    on a busy 2-core machine one thread ran 3-10x faster than two.
    """
    recipe = recipe or task.recipe
    data.check()
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(task, data, store, recipe, seed, progress)
    finally:
        torch.set_num_threads(previous)


@dataclass
class _Head:
    """One trained head, restored to its best dev step, and its test predictions."""

    seed: int
    dev: float
    best_step: int
    weights: Tensor
    refs: list
    hyps: list
    num: list[float]
    den: list[float]


def _train(
    task: ProbeTask, data: TaskData, store: FeatureStore, recipe: Recipe, seed: int, progress: bool
) -> ProbeResult:
    start = time.perf_counter()
    runner = _Classify(task, data, store) if task.kind == CLASSIFY else _Sequence(task, data, store)
    heads = [_fit(task, data, runner, recipe, seed + k, progress) for k in range(recipe.seeds)]
    num = np.mean([h.num for h in heads], axis=0).tolist()
    den = heads[0].den
    first = heads[0]
    return ProbeResult(
        task=task.name,
        metric=task.metric,
        lower_is_better=task.lower_is_better,
        test=round(rate((num, den)), 3),
        dev=round(float(np.mean([h.dev for h in heads])), 3),
        chance=round(task.chance(data), 3),
        layer_weights=[round(float(w), 5) for w in torch.stack([h.weights for h in heads]).mean(0)],
        best_step=first.best_step,
        recipe=asdict(recipe),
        sizes=data.summary(),
        seconds=round(time.perf_counter() - start, 2),
        samples=[
            {"ref": " ".join(r), "hyp": " ".join(h)}
            for r, h in zip(first.refs[:SHOWN_EXAMPLES], first.hyps, strict=False)
        ],
        items={"ids": [ex.id for ex in data.test], "num": num, "den": den},
        per_seed=[
            {
                "seed": h.seed,
                "test": round(rate((h.num, h.den)), 3),
                "dev": round(h.dev, 3),
                "best_step": h.best_step,
            }
            for h in heads
        ],  # fmt: skip
    )


def _fit(
    task: ProbeTask, data: TaskData, runner, recipe: Recipe, seed: int, progress: bool
) -> _Head:
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = Probe(
            task.kind, recipe, runner.store.num_states, runner.store.hidden_size, runner.outputs
        )
    opt = torch.optim.AdamW(probe.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    best = (None, 0, probe.state_dict())
    desc = f"probe {task.name} (seed {seed})"
    for step in tqdm(range(1, recipe.steps + 1), desc=desc, disable=not progress):
        probe.train()
        loss = runner.loss(probe, runner.sample(recipe, gen))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % recipe.eval_every == 0 or step == recipe.steps:
            score = task.score(*runner.predict(probe, data.dev))
            if best[0] is None or task.better(score, best[0]):
                best = (score, step, copy.deepcopy(probe.state_dict()))
    probe.load_state_dict(best[2])
    refs, hyps = runner.predict(probe, data.test)
    num, den = task.per_item(refs, hyps)
    weights = probe.featurizer.distribution().detach()
    return _Head(seed, float(best[0]), best[1], weights, refs, hyps, list(num), list(den))


class _Classify:
    """Utterance-level tasks on pooled features (all in memory: ``[N, L, D]``)."""

    def __init__(self, task: ProbeTask, data: TaskData, store: FeatureStore):
        slots = len(data.train[0].label)
        if any(len(ex.label) != slots for ex in data.all_examples()):
            raise DataError(f"{task.name}: every label needs {slots} slot(s)")
        self.classes = [sorted({ex.label[s] for ex in data.train}) for s in range(slots)]
        self.index = [{c: i for i, c in enumerate(cls)} for cls in self.classes]
        self.outputs = [len(c) for c in self.classes]
        self.store = store
        self.x = store.pooled([ex.audio_key for ex in data.train])
        self.y = torch.tensor([self._ids(ex) for ex in data.train])
        self.by_class = [torch.nonzero(self.y[:, 0] == c).view(-1) for c in range(self.outputs[0])]
        # Full-batch balanced training weighs each item by 1 / its first-slot class's size:
        # in expectation what class-balanced sampling gives.
        counts = torch.bincount(self.y[:, 0], minlength=self.outputs[0]).float()
        self.balance = 1.0 / counts[self.y[:, 0]]

    def _ids(self, ex: Example) -> list[int]:
        return [self.index[s].get(v, -1) for s, v in enumerate(ex.label)]

    def sample(self, recipe: Recipe, gen: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """Item indices of a batch, and per-item loss weights (None: equal)."""
        if recipe.full_batch:
            return torch.arange(len(self.y)), self.balance if recipe.balanced else None
        if not recipe.balanced:
            return torch.randint(len(self.y), (recipe.batch_size,), generator=gen), None
        # Uniform over first-slot classes, then uniform within the class.
        cls = torch.randint(len(self.by_class), (recipe.batch_size,), generator=gen).tolist()
        idx = [
            self.by_class[c][torch.randint(len(self.by_class[c]), (1,), generator=gen)][0]
            for c in cls
        ]
        return torch.stack(idx), None

    def loss(self, probe: Probe, batch: tuple[Tensor, Tensor | None]) -> Tensor:
        idx, weight = batch
        logits = probe(self.x[idx])
        losses = [
            F.cross_entropy(lg, self.y[idx, s], reduction="none") for s, lg in enumerate(logits)
        ]
        per_item = torch.stack(losses).sum(0)
        return per_item.mean() if weight is None else (per_item * weight).sum() / weight.sum()

    @torch.no_grad()
    def predict(self, probe: Probe, examples: list[Example]) -> tuple[list, list]:
        probe.eval()
        x = self.store.pooled([ex.audio_key for ex in examples])
        hyps: list[tuple[str, ...]] = []
        for i in range(0, len(examples), 256):
            logits = probe(x[i : i + 256])
            ids = torch.stack([lg.argmax(-1) for lg in logits], dim=-1).tolist()
            hyps += [tuple(self.classes[s][j] for s, j in enumerate(row)) for row in ids]
        return [ex.label for ex in examples], hyps


class _Sequence:
    """Frame-level CTC tasks; frames are read from the store per batch."""

    def __init__(self, task: ProbeTask, data: TaskData, store: FeatureStore):
        self.vocab = Vocabulary([t for ex in data.train for t in ex.label])
        self.outputs = [len(self.vocab)]
        self.store = store
        self.train = [(ex.audio_key, self.vocab.encode(ex.label)) for ex in data.train]
        # CTC needs at least as many frames as labels (plus repeats): skip the rest.
        self.train = [(k, y) for k, y in self.train if y and store.length(k) >= len(y)]
        if not self.train:
            raise DataError(f"{task.name}: no training utterance has frames for its labels")

    def _batch(self, keys: list[str]) -> tuple[Tensor, Tensor]:
        frames = [self.store.frames(k).float() for k in keys]
        lengths = torch.tensor([f.shape[0] for f in frames])
        return torch.nn.utils.rnn.pad_sequence(frames, batch_first=True), lengths

    def sample(self, recipe: Recipe, gen: torch.Generator) -> list[int]:
        return torch.randint(len(self.train), (recipe.batch_size,), generator=gen).tolist()

    def loss(self, probe: Probe, idx: list[int]) -> Tensor:
        x, lengths = self._batch([self.train[i][0] for i in idx])
        targets = [torch.tensor(self.train[i][1]) for i in idx]
        log_probs = probe(x, lengths)
        return F.ctc_loss(
            log_probs.transpose(0, 1),
            torch.cat(targets),
            lengths,
            torch.tensor([len(t) for t in targets]),
            blank=0,
            zero_infinity=True,
        )

    @torch.no_grad()
    def predict(self, probe: Probe, examples: list[Example]) -> tuple[list, list]:
        probe.eval()
        hyps: list[tuple[str, ...]] = []
        for i in range(0, len(examples), EVAL_BATCH):
            x, lengths = self._batch([ex.audio_key for ex in examples[i : i + EVAL_BATCH]])
            hyps += [self.vocab.decode(ids) for ids in ctc_greedy(probe(x, lengths), lengths)]
        return [ex.label for ex in examples], hyps
