"""Train one probe on cached features, pick the best head on dev, score it on test."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import Example, TaskData
from gendistiller.evaluation.probes.heads import Probe
from gendistiller.evaluation.probes.metrics import Vocabulary, ctc_greedy
from gendistiller.evaluation.probes.store import FeatureStore
from gendistiller.evaluation.probes.task import CLASSIFY, ProbeTask, Recipe

log = logging.getLogger(__name__)

EVAL_BATCH = 32
SHOWN_EXAMPLES = 3


@dataclass
class ProbeResult:
    """A trained probe's scores (percent) and what it learnt about the layers."""

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
    """Train ``task``'s head with a weighted sum over ``store``'s states, fixed ``recipe``.

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


def _train(
    task: ProbeTask, data: TaskData, store: FeatureStore, recipe: Recipe, seed: int, progress: bool
) -> ProbeResult:
    start = time.perf_counter()
    runner = _Classify(task, data, store) if task.kind == CLASSIFY else _Sequence(task, data, store)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = Probe(task.kind, recipe, store.num_states, store.hidden_size, runner.outputs)
    opt = torch.optim.AdamW(probe.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    best = (None, 0, probe.state_dict())
    for step in tqdm(range(1, recipe.steps + 1), desc=f"probe {task.name}", disable=not progress):
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
    return ProbeResult(
        task=task.name,
        metric=task.metric,
        lower_is_better=task.lower_is_better,
        test=round(task.score(refs, hyps), 3),
        dev=round(float(best[0]), 3),
        chance=round(task.chance(data), 3),
        layer_weights=[round(float(w), 5) for w in probe.featurizer.distribution().detach()],
        best_step=best[1],
        recipe=asdict(recipe),
        sizes=data.summary(),
        seconds=round(time.perf_counter() - start, 2),
        samples=[
            {"ref": " ".join(r), "hyp": " ".join(h)}
            for r, h in zip(refs[:SHOWN_EXAMPLES], hyps, strict=False)
        ],
    )


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

    def _ids(self, ex: Example) -> list[int]:
        return [self.index[s].get(v, -1) for s, v in enumerate(ex.label)]

    def sample(self, recipe: Recipe, gen: torch.Generator) -> Tensor:
        if not recipe.balanced:
            return torch.randint(len(self.y), (recipe.batch_size,), generator=gen)
        # Uniform over first-slot classes, then uniform within the class.
        cls = torch.randint(len(self.by_class), (recipe.batch_size,), generator=gen).tolist()
        return torch.stack(
            [
                self.by_class[c][torch.randint(len(self.by_class[c]), (1,), generator=gen)][0]
                for c in cls
            ]
        )

    def loss(self, probe: Probe, idx: Tensor) -> Tensor:
        logits = probe(self.x[idx])
        return sum(F.cross_entropy(lg, self.y[idx, s]) for s, lg in enumerate(logits))  # type: ignore[return-value]

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
