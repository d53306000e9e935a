"""Batch order and crops: deterministic, resumable, sharded, padding-free; load-time skips."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from gendistiller.audio import SAMPLE_RATE
from gendistiller.data import (
    AudioEntry,
    CropDataset,
    DataConfig,
    ResumableBatchSampler,
    ScanReport,
    collate,
)
from gendistiller.data.module import AudioDataModule

LENGTHS = [4000, 9000, 16000, 5000, 30000, 12000, 7000, 8000, 20000, 6000, 11000]


def take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_order_is_a_function_of_seed_and_position():
    a = ResumableBatchSampler(LENGTHS, 3, 10_000, seed=1, bucket_batches=2)
    b = ResumableBatchSampler(LENGTHS, 3, 10_000, seed=1, bucket_batches=2)
    c = ResumableBatchSampler(LENGTHS, 3, 10_000, seed=2, bucket_batches=2)
    stream = take(a, 12)
    assert stream == take(b, 12)
    assert stream != take(c, 12)
    per_epoch = a.batches_per_epoch
    assert per_epoch == len(LENGTHS) // 3
    # epochs differ in order but each is drawn without repetition
    first, second = stream[:per_epoch], stream[per_epoch : 2 * per_epoch]
    assert [r.index for b in first for r in b] != [r.index for b in second for r in b]
    assert len({r.index for b in first for r in b}) == per_epoch * 3
    # a sampler started at position p continues the same stream
    for p in (0, 2, per_epoch, per_epoch + 1, 7):
        resumed = ResumableBatchSampler(LENGTHS, 3, 10_000, seed=1, bucket_batches=2, start=p)
        assert take(resumed, 12 - p) == stream[p:]
        assert a.batch_at(p) == stream[p]


def test_batches_share_one_crop_length_no_longer_than_any_member():
    sampler = ResumableBatchSampler(LENGTHS, 4, 10_000, seed=0, bucket_batches=1)
    for batch in take(sampler, 10):
        crops = {r.crop for r in batch}
        assert len(crops) == 1
        crop = crops.pop()
        assert crop == min(10_000, min(LENGTHS[r.index] for r in batch))
        assert len({r.position for r in batch}) == 1


def test_bucketing_groups_similar_lengths():
    lengths = list(np.random.default_rng(0).integers(1_000, 100_000, size=400))

    def waste(bucket):  # audio cut off to make each batch one length
        s = ResumableBatchSampler(lengths, 8, 10**9, seed=0, bucket_batches=bucket)
        return sum(lengths[r.index] - r.crop for b in take(s, s.batches_per_epoch) for r in b)

    assert waste(20) < 0.5 * waste(0)


def test_ranks_take_disjoint_equal_shares():
    ranks = [
        ResumableBatchSampler(LENGTHS, 2, 10_000, seed=3, rank=r, world_size=2) for r in range(2)
    ]
    assert ranks[0].batches_per_epoch == ranks[1].batches_per_epoch == len(LENGTHS) // 2 // 2
    seen = [{r.index for b in take(s, s.batches_per_epoch) for r in b} for s in ranks]
    assert not seen[0] & seen[1]


def test_tiny_corpus_still_fills_batches():
    sampler = ResumableBatchSampler([8000, 9000], 5, 10_000, seed=0, bucket_batches=0)
    batch = take(sampler, 1)[0]
    assert len(batch) == 5 and {r.index for r in batch} <= {0, 1}


def _corpus(tmp_path: Path, n: int = 6) -> list[AudioEntry]:
    entries = []
    for i in range(n):
        wave = (0.2 * np.sin(np.arange(8000 + 1000 * i) * (0.05 + 0.01 * i))).astype(np.float32)
        path = tmp_path / f"f{i}.wav"
        sf.write(path, wave, SAMPLE_RATE)
        entries.append(AudioEntry(str(path), wave.size))
    return entries


def test_crops_are_reproducible_and_collated_without_padding(tmp_path):
    entries = _corpus(tmp_path)
    sampler = ResumableBatchSampler([e.num_samples for e in entries], 3, 6000, seed=5)
    batch_requests = take(sampler, 2)
    one = [collate([CropDataset(entries, 5)[r] for r in b]) for b in batch_requests]
    two = [collate([CropDataset(entries, 5)[r] for r in b]) for b in batch_requests]
    for x, y in zip(one, two, strict=True):
        assert x["waveforms"].shape == (3, 6000) and x["waveforms"].dtype == torch.float32
        assert torch.equal(x["waveforms"], y["waveforms"])
        assert x["seconds"] == 3 * 6000 / SAMPLE_RATE
    other_seed = collate([CropDataset(entries, 6)[r] for r in batch_requests[0]])
    assert not torch.equal(other_seed["waveforms"], one[0]["waveforms"])


def test_file_broken_after_the_scan_is_replaced_and_warned_once(tmp_path, caplog):
    entries = _corpus(tmp_path)
    report = ScanReport(entries=entries)
    Path(entries[2].path).write_bytes(b"garbage now")
    data = AudioDataModule(
        report, DataConfig(batch_size=6, max_samples=4000, min_samples=4000, num_workers=0), seed=0
    )
    loader = data.train_dataloader()
    with caplog.at_level(logging.WARNING, logger="gendistiller"):
        for batch in itertools.islice(loader, 3):
            batch = data.on_after_batch_transfer(batch, 0)
            assert batch["waveforms"].shape == (6, 4000)
            assert 2 not in batch["indices"].tolist()
    assert list(data.load_skipped) == [entries[2].path]
    assert len([r for r in caplog.records if entries[2].path in r.getMessage()]) == 1
    assert data.consumed == 3 and data.state_dict()["consumed"] == 3
    assert "1 more skipped when loaded" in data.summary()
