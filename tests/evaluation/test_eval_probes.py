"""Each probe, through its real code path (features, cache, weighted sum, head, training,
dev selection, decoding, metric), learns an easy synthetic task clearly above chance.

Easy splits: "words", "speakers", "intent slots" and "phones" are tones and harmonic
complexes, which even a random-weight tiny encoder separates; a broken pipeline (labels
misaligned with features, weights not learnt, decoding wrong) stays at chance.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from gendistiller.errors import ConfigError, DataError
from gendistiller.evaluation.probes import TASKS, build_store, run_probes, train_probe
from gendistiller.evaluation.probes.data import Example, TaskData
from gendistiller.evaluation.probes.heads import CTCHead, WeightedSum
from gendistiller.evaluation.probes.ks import CLASSES as KS_CLASSES
from gendistiller.evaluation.statistics import corpus_score, item_scores
from gendistiller.evaluation.superb import Upstream

SR = 16000
QUICK = {"steps": 400, "eval_every": 100}


def tone(freq: float, seconds: float, rng: np.random.Generator, harmonics: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    wave = sum(
        rng.uniform(0.5, 1.0) / h * np.sin(2 * np.pi * freq * h * t + rng.uniform(0, 6.3))
        for h in range(1, harmonics + 1)
    )
    return (0.2 * wave + rng.normal(0, 0.005, t.shape)).astype(np.float32)


def gap(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 0.005, int(seconds * SR)).astype(np.float32)


def split(task: str, make, sizes=(96, 24, 24), seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    parts = {}
    for name, n in zip(("train", "dev", "test"), sizes, strict=True):
        parts[name] = [Example(f"{name}-{i}", *make(i, rng)) for i in range(n)]
    return TaskData(task, **parts, source="synthetic")


def ks_data() -> TaskData:
    def make(i, rng):
        c = i % len(KS_CLASSES)
        return tone(180 * 1.3**c, rng.uniform(0.4, 0.6), rng), (KS_CLASSES[c],)

    return split("ks", make, sizes=(12 * 12, 12 * 3, 12 * 3))


def sid_data() -> TaskData:
    f0 = [110, 150, 200, 260, 340, 440]

    def make(i, rng):
        s = i % len(f0)
        return tone(f0[s] * rng.uniform(0.98, 1.02), rng.uniform(0.4, 0.8), rng, harmonics=4), (
            f"spk{s}",
        )

    return split("sid", make)


def ic_data() -> TaskData:
    slots = [("activate", "deactivate"), ("lights", "music"), ("kitchen", "none")]
    freqs = [(250, 400), (650, 1000), (1600, 2500)]

    def make(i, rng):
        picks = [int(b) for b in rng.integers(0, 2, 3)]
        wave = np.concatenate([tone(freqs[s][p], 0.4, rng) for s, p in enumerate(picks)])
        return wave, tuple(slots[s][p] for s, p in enumerate(picks))

    return split("ic", make, sizes=(160, 32, 32))


def band(
    seconds: float, rng: np.random.Generator, low: float, high: float, level: float = 0.2
) -> np.ndarray:
    """Noise in one frequency band: steadier under random filters than a pure tone."""
    n = int(seconds * SR)
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum[(freqs < low) | (freqs > high)] = 0
    wave = np.fft.irfft(spectrum, n)
    return (level * wave / (wave.std() + 1e-9)).astype(np.float32)


# "Phones" that even a random-weight encoder tells apart frame by frame: noise bands and
# near-silence (pure tones alias through its strided random filters: ~70 % of frames).
PHONE_S = 0.06
PHONES = {
    "AA": lambda rng: band(PHONE_S, rng, 100, 600),
    "IY": lambda rng: band(PHONE_S, rng, 1500, 2500),
    "S": lambda rng: band(PHONE_S, rng, 4500, 7500),
    "K": lambda rng: band(PHONE_S, rng, 0, 8000, level=0.002),
}


def phone_sequence(rng: np.random.Generator, count: int) -> list[str]:
    seq: list[str] = []
    while len(seq) < count:
        p = str(rng.choice(list(PHONES)))
        if not seq or seq[-1] != p:  # a repeated tone would be one long tone
            seq.append(p)
    return seq


def pr_data() -> TaskData:
    def make(i, rng):
        seq = phone_sequence(rng, int(rng.integers(3, 7)))
        return np.concatenate([PHONES[p](rng) for p in seq]), tuple(seq)

    return split("pr", make)


def asr_data() -> TaskData:
    letters = {"A": 300, "B": 700, "C": 1300, "D": 2400}

    def make(i, rng):
        words = [
            "".join(rng.choice(list(letters), int(rng.integers(1, 3)), replace=False))
            for _ in range(int(rng.integers(2, 4)))
        ]
        parts = []
        for w in words:
            parts += [tone(letters[c], 0.12, rng) for c in w] + [gap(0.12, rng)]
        return np.concatenate(parts[:-1]), tuple("|".join(words))

    return split("asr", make)


DATA = {"ks": ks_data, "sid": sid_data, "ic": ic_data, "pr": pr_data, "asr": asr_data}


@pytest.fixture(scope="module")
def upstream(tiny_teacher):
    return Upstream(tiny_teacher, name="tiny-teacher")


@pytest.fixture(scope="module")
def store_and_data(upstream, tmp_path_factory):
    data = {name: make() for name, make in DATA.items()}
    frame_keys = {ex.audio_key for name in ("pr", "asr") for ex in data[name].all_examples()}
    examples = [ex for d in data.values() for ex in d.all_examples()]
    store = build_store(
        upstream, examples, frame_keys, tmp_path_factory.mktemp("cache"), progress=False
    )
    return store, data


@pytest.mark.parametrize("task", ["ks", "sid", "ic", "pr", "asr"])
def test_probe_learns_easy_task_clearly_above_chance(store_and_data, task):
    store, data = store_and_data
    spec = TASKS[task]
    result = train_probe(
        spec, data[task], store, recipe=spec.recipe.with_overrides(**QUICK), seed=0
    )
    assert result.metric == spec.metric and result.sizes == data[task].summary()
    if spec.lower_is_better:  # error rates: chance is the empty transcript, 100 %
        assert result.chance == pytest.approx(100.0)
        assert result.test < 70.0, result
    else:
        assert result.test >= max(2 * result.chance, result.chance + 25.0), result
    weights = torch.tensor(result.layer_weights)
    assert len(weights) == store.num_states
    assert float(weights.sum()) == pytest.approx(1.0, abs=1e-4) and bool((weights > 0).all())
    assert result.best_step in range(100, 401, 100)
    # Per-item test scores, keyed by example id, give back the corpus-level metric.
    items = result.items
    assert items["ids"] == [ex.id for ex in data[task].test]
    assert len(items["num"]) == len(items["den"]) == len(data[task].test)
    assert corpus_score(item_scores(items["num"], items["den"])) == pytest.approx(
        result.test, abs=1e-3
    )
    json.dumps(result.as_dict())  # the report's JSON takes it as is


@pytest.mark.parametrize("task", ["sid", "pr"])
def test_several_probe_seeds_average_their_item_scores(store_and_data, task):
    store, data = store_and_data
    recipe = TASKS[task].recipe.with_overrides(steps=60, eval_every=30)
    single = [train_probe(TASKS[task], data[task], store, recipe=recipe, seed=s) for s in (3, 4)]
    pair = train_probe(TASKS[task], data[task], store, recipe=replace(recipe, seeds=2), seed=3)
    assert [h["seed"] for h in pair.per_seed] == [3, 4]
    assert [h["test"] for h in pair.per_seed] == [r.test for r in single]
    mean_num = np.mean([r.items["num"] for r in single], axis=0)
    np.testing.assert_allclose(pair.items["num"], mean_num)
    assert pair.items["den"] == single[0].items["den"]
    assert pair.test == pytest.approx(np.mean([r.test for r in single]), abs=2e-3)


def test_full_batch_training_uses_every_item_whatever_the_batch_size(store_and_data):
    store, data = store_and_data
    recipe = TASKS["ks"].recipe.with_overrides(steps=40, eval_every=20, full_batch=True)
    a, b = (
        train_probe(TASKS["ks"], data["ks"], store, recipe=replace(recipe, batch_size=n), seed=1)
        for n in (4, 32)
    )
    assert a.items == b.items and a.layer_weights == b.layer_weights
    assert a.test >= a.chance + 25.0
    with pytest.raises(ConfigError, match="pooled head"):
        TASKS["pr"].recipe.with_overrides(full_batch=True)


def test_duplicate_example_ids_are_refused_in_one_line(store_and_data):
    _, data = store_and_data
    sid = data["sid"]
    twice = replace(sid, test=[*sid.test, sid.test[0]])
    with pytest.raises(DataError, match=r"id 'test-0' appears twice in the test split"):
        twice.check()


def test_run_probes_reuses_the_feature_cache(upstream, tmp_path, monkeypatch):
    data = {
        "sid": split(
            "sid",
            lambda i, rng: (tone(200 + 100 * (i % 2), 0.3, rng), (str(i % 2),)),
            sizes=(8, 4, 4),
        )
    }
    quick = {"sid": TASKS["sid"].recipe.with_overrides(steps=20, eval_every=10)}
    first = run_probes(upstream, data, cache_dir=tmp_path, recipes=quick, progress=False)
    monkeypatch.setattr(
        Upstream, "extract", lambda *a, **k: pytest.fail("features were recomputed")
    )
    again = run_probes(upstream, data, cache_dir=tmp_path, recipes=quick, progress=False)
    assert (
        again["sid"].test == first["sid"].test
        and again["sid"].layer_weights == first["sid"].layer_weights
    )


def test_cached_features_match_a_direct_forward(upstream, tmp_path):
    rng = np.random.default_rng(0)
    examples = [Example(str(i), tone(300 + 200 * i, 0.3 + 0.2 * i, rng), ("x",)) for i in range(3)]
    keys = {ex.audio_key for ex in examples}
    disk = build_store(upstream, examples, keys, tmp_path, progress=False)
    memory = build_store(upstream, examples, keys, None, progress=False)
    for ex in examples:
        out = upstream.extract(torch.from_numpy(ex.audio)[None])
        direct = torch.stack(out.hidden_states, dim=2)[0]  # [T, L, D]
        for store in (disk, memory):
            torch.testing.assert_close(
                store.frames(ex.audio_key).float(), direct, atol=2e-2, rtol=1e-2
            )
            torch.testing.assert_close(
                store.pooled([ex.audio_key])[0], direct.mean(0), atol=1e-4, rtol=1e-4
            )


def test_weighted_sum_starts_uniform_and_stays_a_distribution():
    ws = WeightedSum(4)
    assert torch.equal(ws.distribution(), torch.full((4,), 0.25))
    states = torch.randn(2, 5, 4, 3)
    torch.testing.assert_close(ws(states), states.mean(dim=2))
    with torch.no_grad():
        ws.weights.copy_(torch.tensor([3.0, -1.0, 0.5, 10.0]))
    dist = ws.distribution()
    assert float(dist.detach().sum()) == pytest.approx(1.0) and bool((dist > 0).all())
    assert int(dist.argmax()) == 3
    ws(states).sum().backward()
    assert ws.weights.grad is not None and ws.weights.grad.abs().sum() > 0


def test_conv_ctc_head_gives_an_utterance_the_same_output_alone_or_padded():
    torch.manual_seed(0)
    head = CTCHead(8, 5, "conv", 16).eval()
    x = torch.randn(2, 30, 8)
    lengths = torch.tensor([30, 17])
    x[1, 17:] = 0.0
    batched = head(x, lengths)
    alone = head(x[1:, :17], lengths[1:])
    torch.testing.assert_close(batched[1, :17], alone[0], atol=1e-5, rtol=1e-5)


def test_task_subset_is_reproducible_and_bounded(tiny_corpus):
    from gendistiller.evaluation.probes import TASKS

    data = TASKS["ks"].from_corpus(tiny_corpus)
    a, b = data.subset(5, 2, 3), data.subset(5, 2, 3)
    assert a.summary() == {"train": 5, "dev": min(2, len(data.dev)), "test": min(3, len(data.test))}
    assert [e.audio_key for e in a.train] == [e.audio_key for e in b.train]
    assert {e.audio_key for e in a.train} <= {e.audio_key for e in data.train}
    assert data.subset(10**6, 10**6, 10**6).summary() == data.summary()
