"""The teacher cache: training with it equals training without, misses fall back to the
teacher and are counted, a cache of another run is refused, resume stays exact."""

from __future__ import annotations

import logging
import multiprocessing

import pytest
import torch

from gendistiller.errors import ConfigError
from gendistiller.training.config import load_config
from gendistiller.training.curves import loss_curve
from gendistiller.training.run import train
from gendistiller.training.teacher_cache import TeacherCache, batch_key
from gendistiller.training.teacher_cache_build import build_teacher_cache


@pytest.fixture
def configs(tiny_args, tmp_path):
    # teacher forcing on: the student reads the teacher's states, not only the loss
    common = (
        "trainer.max_steps=6",
        "checkpoint.every_n_steps=2",
        "student.overrides.teacher_forcing_ratio=0.5",
    )

    def make(name, *extra):
        return load_config("tiny", tiny_args(*common, *extra, run_dir=tmp_path / name))

    return make


def test_cached_training_equals_uncached_and_a_miss_runs_the_teacher(
    configs, tmp_path, caplog, same_students
):
    reference = train(configs("plain"))
    # built for 4 of the 6 steps: the last two batches are misses
    cache = build_teacher_cache(configs("plain"), tmp_path / "cache", steps=4)
    assert TeacherCache.read(cache).batches == 4
    with caplog.at_level(logging.INFO, logger="gendistiller"):
        cached = train(configs("cached", f"teacher.cache={cache}"))
    assert (cached.cache_hits, cached.cache_misses) == (4, 2)
    assert any("4 batches read, 2 not in it" in r.getMessage() for r in caplog.records)
    assert loss_curve(cached.run_dir) == loss_curve(reference.run_dir)
    assert len(loss_curve(cached.run_dir)[0]) == 6
    assert same_students(cached, reference)

    # a batch the cache does not hold gets None, never another batch's states
    store = TeacherCache.read(cache)
    assert store.get(torch.zeros(2, 6000)) is None


def test_a_killed_run_resumes_exactly_with_the_cache(configs, tmp_path, kill_at, same_students):
    reference = train(configs("plain"))
    cache = build_teacher_cache(configs("plain"), tmp_path / "cache")
    killed = configs("killed", f"teacher.cache={cache}")
    with pytest.raises(kill_at.error):
        train(killed, callbacks=[kill_at(3)])  # one step after the checkpoint at step 2
    resumed = train(killed)
    assert resumed.resumed_from.name == "step-000000002.ckpt"
    assert (resumed.cache_hits, resumed.cache_misses) == (4, 0)
    assert loss_curve(resumed.run_dir) == loss_curve(reference.run_dir)
    assert same_students(resumed, reference)


@pytest.mark.parametrize(
    "change, key",
    [
        ("teacher.seed=1", "teacher"),  # another random teacher: other weights
        ("run.seed=1", "seed"),
        ("data.max_samples=5000", "max_samples"),
        ("teacher.cache_float16=true", "float16"),
    ],
)
def test_a_cache_of_another_run_is_refused_in_one_line(configs, tmp_path, change, key):
    cache = build_teacher_cache(configs("plain", "trainer.max_steps=1"), tmp_path / "cache")
    with pytest.raises(ConfigError) as err:
        train(configs("other", f"teacher.cache={cache}", change))
    message = str(err.value)
    assert message.startswith("teacher.cache:") and f"({key}:" in message
    assert "\n" not in message
    # building into it for the other run is refused too: it is never overwritten
    with pytest.raises(ConfigError, match="built for another run"):
        build_teacher_cache(configs("other", change), cache)


def test_missing_cache_and_missing_layers_are_refused(configs, tmp_path):
    with pytest.raises(ConfigError, match="holds no teacher cache"):
        train(configs("x", f"teacher.cache={tmp_path / 'nothing'}"))
    cache = build_teacher_cache(configs("plain", "trainer.max_steps=1"), tmp_path / "c", layers=[2])
    with pytest.raises(ConfigError, match=r"lacks teacher layer\(s\) \[1\]"):
        train(configs("x", f"teacher.cache={cache}"))


def test_an_interrupted_build_resumes_to_the_same_cache(configs, tmp_path, monkeypatch, kill_at):
    from gendistiller.training import teacher_cache_build as build

    cfg = configs("plain")
    whole = build_teacher_cache(cfg, tmp_path / "whole")

    monkeypatch.setattr(build, "SHARD_BYTES", 1)  # one batch per shard
    calls = {"n": 0}
    add = build.CacheWriter.add

    def dying_add(self, *args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise kill_at.error("killed while building")
        add(self, *args)

    monkeypatch.setattr(build.CacheWriter, "add", dying_add)
    with pytest.raises(kill_at.error):
        build_teacher_cache(cfg, tmp_path / "part")
    assert TeacherCache.read(tmp_path / "part").batches == 3
    monkeypatch.setattr(build.CacheWriter, "add", add)
    part = build_teacher_cache(cfg, tmp_path / "part")

    a, b = TeacherCache.read(whole), TeacherCache.read(part)
    assert b.batches == a.batches == 6 and len(b.index["shards"]) == 6
    assert list(a._where) == list(b._where)
    for wave in _batches(cfg):
        got, want = b.get(wave), a.get(wave)
        assert all(torch.equal(x, y) for x, y in zip(got[1:], want[1:], strict=True))

    # an unreadable index restarts the build from the beginning
    (part / "index.json").write_text("{not json")
    build_teacher_cache(cfg, part)
    assert TeacherCache.read(part).batches == 6


def test_float16_cache_is_close_and_says_so(configs, tmp_path):
    reference = train(configs("plain"))
    cache = build_teacher_cache(configs("plain", "teacher.cache_float16=true"), tmp_path / "half")
    half = train(configs("half", f"teacher.cache={cache}", "teacher.cache_float16=true"))
    assert half.cache_hits == 6
    got, want = loss_curve(half.run_dir)[1], loss_curve(reference.run_dir)[1]
    assert got != want  # the states really were rounded
    assert max(abs(g - w) / w for g, w in zip(got, want, strict=True)) < 1e-2


def test_batch_key_follows_every_byte_and_the_shape():
    a = torch.randn(2, 800)
    b = a.clone()
    b[1, 799] = torch.nextafter(b[1, 799], torch.tensor(10.0))
    assert batch_key(a) == batch_key(a.clone())
    assert len({batch_key(a), batch_key(b), batch_key(a.reshape(1, 1600))}) == 3


def _read_all(path, waves, queue):
    torch.set_num_threads(1)
    cache = TeacherCache.read(path)
    queue.put(sum(float(cache.get(w)[2].sum()) for w in waves))


def test_two_processes_read_one_cache_at_once(configs, tmp_path):
    cfg = configs("plain")
    cache = build_teacher_cache(cfg, tmp_path / "cache")
    waves = _batches(cfg)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    readers = [ctx.Process(target=_read_all, args=(cache, waves, queue)) for _ in range(2)]
    for p in readers:
        p.start()
    sums = [queue.get(timeout=60) for _ in readers]
    for p in readers:
        p.join(timeout=60)
    assert [p.exitcode for p in readers] == [0, 0]
    here = TeacherCache.read(cache)
    assert sums == [sum(float(here.get(w)[2].sum()) for w in waves)] * 2


def _batches(cfg):
    """The run's first 6 batches as training draws them."""
    from itertools import islice

    from gendistiller.data.module import AudioDataModule
    from gendistiller.data.sources import scan_source

    module = AudioDataModule(scan_source(cfg.data, progress=False), cfg.data, cfg.run.seed)
    return [b["waveforms"] for b in islice(iter(module.train_dataloader()), 6)]
