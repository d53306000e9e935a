"""Building, caching and reading a tiny corpus (the session's ``tiny_corpus``)."""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from gendistiller import cli
from gendistiller.corpus import (
    INTENTS,
    KEYWORD_CLASSES,
    PHONES,
    build_corpus,
    default_corpus,
    default_corpus_dir,
    load_corpus,
)
from gendistiller.corpus import build as build_module
from gendistiller.corpus.plan import SIZES, CorpusSize, plan_corpus
from gendistiller.errors import ConfigError, DataError
from gendistiller.io import TMP_PREFIX


@pytest.fixture
def tiny(tiny_corpus):
    return tiny_corpus


def _file_sha1(path) -> str:
    samples, sr = sf.read(str(path), dtype="int16")
    assert sr == 16000 and samples.ndim == 1
    return hashlib.sha1(samples.tobytes()).hexdigest()


def test_tiny_corpus_builds_with_the_workers_asked(tiny):
    assert tiny.info["build_workers"] == 2
    assert len(tiny) == 6 * (3 + 3 + 1 + 2)
    assert tiny.manifest_path.is_file() and tiny.manifest_path.parent == tiny.root


def test_same_seed_same_audio_and_labels_with_any_worker_count(tiny, tmp_path):
    again = build_corpus(tmp_path / "again", size="tiny", workers=1, progress=False)
    assert again.records == tiny.records
    assert again.manifest_path.read_bytes() == tiny.manifest_path.read_bytes()
    for rec in tiny.records:  # the files hold what the manifest says
        assert _file_sha1(again.audio_path(rec)) == _file_sha1(tiny.audio_path(rec)) == rec.sha1
    assert len({r.sha1 for r in tiny.records}) == len(tiny)


def test_a_size_with_held_out_shares_builds_as_planned_and_deterministically(tmp_path):
    # The eval size's settings (held-out shares) on a few utterances: the full size is too
    # slow for a test. Its splits come from the plan, its sha1 column from the audio.
    spec = CorpusSize(
        "shares", speakers=4, sentences=4, keywords=1, unknown=0, intents=1,
        dev_share=0.25, test_share=0.25, sid_dev_share=0.25, sid_test_share=0.5,
    )  # fmt: skip
    one = build_corpus(tmp_path / "one", size=spec, workers=1, progress=False)
    two = build_corpus(tmp_path / "two", size=spec, workers=2, progress=False)
    assert one.manifest_path.read_bytes() == two.manifest_path.read_bytes()
    for rec in one.records:
        assert _file_sha1(one.audio_path(rec)) == _file_sha1(two.audio_path(rec)) == rec.sha1
    plan = plan_corpus(spec, seed=0)
    assert [(r.id, r.split, r.split_sid) for r in one.records] == [
        (u.id, u.split, u.split_sid) for u in plan
    ]
    assert sum(r.split_sid == "test" for r in one.records) == 4 * 2
    # corpus.json gives the size back: asking again reuses the corpus
    assert build_corpus(one.root, size=spec, progress=False).info == one.info


def test_labels_are_consistent(tiny):
    assert tiny.phone_set == PHONES
    assert len(tiny.speakers) == SIZES["tiny"].speakers
    by_id = {s.id: s for s in tiny.speakers}
    for rec in tiny.records:
        assert rec.phonemes and set(rec.phonemes) <= set(PHONES), rec.id
        spk = by_id[rec.speaker]
        assert (rec.voice, rec.gender) == (spk.voice, spk.gender)  # one identity per speaker
        if rec.kind == "sentence":
            assert not rec.keyword and not rec.intent and rec.split_pr == rec.split_asr == rec.split
        else:
            assert bool(rec.keyword) != bool(rec.intent)  # a keyword or an intent
            assert rec.split_ks == (rec.split if rec.keyword else "")
            assert rec.split_ic == (rec.split if rec.intent else "")
    assert {r.keyword for r in tiny.records if r.keyword} <= set(KEYWORD_CLASSES)
    assert {r.intent for r in tiny.records if r.intent} <= {i.label for i in INTENTS}
    # phonemes follow the text: the same word in the same accent gives the same phones
    words = {}
    for rec in tiny.records:
        if rec.keyword:
            key = (rec.text.strip(".!").lower(), rec.accent)
            assert words.setdefault(key, rec.phonemes) == rec.phonemes


def test_split_tasks_are_disjoint_as_documented(tiny):
    for task in ("all", "pr", "ks", "ic"):
        spk = {n: {r.speaker for r in tiny.split(task, n)} for n in ("train", "dev", "test")}
        assert spk["train"] and not spk["train"] & spk["test"] and not spk["dev"] & spk["test"]
    sid = {n: {r.id for r in tiny.split("sid", n)} for n in ("train", "dev", "test")}
    assert not sid["train"] & sid["test"]
    assert {r.speaker for r in tiny.split("sid", "test")} == {s.id for s in tiny.speakers}
    with pytest.raises(ConfigError, match="unknown 'xyz'"):
        tiny.split("xyz", "train")


def test_audio_is_not_clipped_silent_or_empty(tiny):
    for rec in tiny.records:
        wave = tiny.load(rec)
        assert wave.size == rec.num_samples >= 16000
        peak = float(np.abs(wave).max())
        assert 0.2 < peak <= 0.9 + 1e-3
        assert abs(20 * np.log10(peak) - rec.peak_dbfs) < 0.05
        # the padding is near-silent, the middle is speech
        edge = np.sqrt(np.mean(wave[:800] ** 2))
        assert edge < 0.01 * peak
        assert rec.rms_dbfs > -40


def test_training_pipeline_reads_the_manifest(tiny, tmp_path):
    from gendistiller.data import DataConfig, scan_source

    cfg = DataConfig(source="manifest", manifest=str(tiny.manifest_path), cache_dir=str(tmp_path))
    report = scan_source(cfg, progress=False)
    assert not report.skipped
    found = {os.path.relpath(e.path, tiny.root): e.num_samples for e in report.entries}
    assert found == {r.path: r.num_samples for r in tiny.records}


def test_reuse_and_refusals(tiny, tmp_path):
    root = shutil.copytree(tiny.root, tmp_path / "copy")  # this test removes a file
    stamp = (root / "corpus.json").stat().st_mtime_ns
    again = build_corpus(root, size="tiny", progress=False)  # reused, not rebuilt
    assert again.records == tiny.records
    assert (root / "corpus.json").stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match="other settings"):
        build_corpus(root, size="tiny", seed=1, progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a corpus folder"):
        build_corpus(tmp_path / "busy", size="tiny", progress=False)
    (root / tiny.records[0].path).unlink()
    with pytest.raises(DataError, match="missing audio file"):
        load_corpus(root)


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    # from a killed build (no such process)
    stale = tmp_path / f"{TMP_PREFIX}corpus.pid999999999.dead"
    stale.mkdir()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_corpus(out, size="tiny", progress=False)
    assert sorted(tmp_path.iterdir()) == []  # neither a half corpus nor temporary folders


def test_default_cache_and_cli(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENDISTILLER_CACHE", str(tmp_path))
    target = default_corpus_dir("tiny")
    assert target.parent == tmp_path / "corpus"
    target.parent.mkdir(parents=True)
    os.symlink(tiny.root, target)  # as if built before: the cache is reused, not rebuilt
    assert default_corpus("tiny").records == tiny.records
    assert cli.main(["corpus", "--size", "tiny", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert str(target) in out and f"{len(tiny)} utterances" in out and "reused" in out
    bad = tmp_path / "a-file"
    bad.write_text("x")
    assert cli.main(["corpus", "--size", "tiny", "--out", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err
