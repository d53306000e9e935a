"""A resumable batch order: every batch is a pure function of (seed, epoch, position).

The sampler is an endless stream of batches over epochs. Its only state is how many
batches this rank has consumed, so restoring that one integer from a checkpoint makes a
resumed run see exactly the batch it would have seen. Each epoch is a seeded
permutation; with bucketing, runs of shuffled files are sorted by length before being
cut into batches (then the batches are shuffled), so the crop length shared by a
batch, the shortest file's, wastes little audio. Ranks take interleaved batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
from torch.utils.data import Sampler


class CropRequest(NamedTuple):
    """What the dataset is asked for: a crop of file ``index`` for stream ``position``."""

    index: int
    crop: int
    epoch: int
    position: int


class ResumableBatchSampler(Sampler[list[CropRequest]]):
    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        max_samples: int,
        *,
        seed: int = 0,
        bucket_batches: int = 50,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
    ):
        if not lengths:
            raise ValueError("no files to sample from")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.max_samples = max_samples
        self.seed = seed
        self.bucket_batches = bucket_batches
        self.rank = rank
        self.world_size = world_size
        self.start = start
        # Tiny corpora are repeated within an epoch so that every rank still gets a batch.
        need = batch_size * world_size
        self._repeats = max(1, math.ceil(need / len(self.lengths)))
        global_batches = len(self.lengths) * self._repeats // batch_size
        self.batches_per_epoch = global_batches // world_size  # per rank

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """This rank's batches (file indices) of one epoch."""
        rng = np.random.default_rng([self.seed, epoch])
        order = np.concatenate([rng.permutation(len(self.lengths)) for _ in range(self._repeats)])
        if self.bucket_batches > 0:
            group = self.batch_size * self.bucket_batches
            chunks = [order[i : i + group] for i in range(0, len(order), group)]
            # stable sort keeps ties in shuffled order; descending puts long files first
            order = np.concatenate([c[np.argsort(-self.lengths[c], kind="stable")] for c in chunks])
        usable = len(order) // self.batch_size * self.batch_size
        batches = list(order[:usable].reshape(-1, self.batch_size))
        if self.bucket_batches > 0:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        mine = batches[self.rank :: self.world_size]
        return mine[: self.batches_per_epoch]

    def batch_at(self, position: int) -> list[CropRequest]:
        """The batch this rank sees at stream ``position`` (0-based, counted per rank)."""
        epoch, offset = divmod(position, self.batches_per_epoch)
        return self._requests(self.epoch_batches(epoch)[offset], epoch, position)

    def __iter__(self) -> Iterator[list[CropRequest]]:
        position = self.start
        epoch, offset = divmod(position, self.batches_per_epoch)
        while True:
            for batch in self.epoch_batches(epoch)[offset:]:
                yield self._requests(batch, epoch, position)
                position += 1
            epoch, offset = epoch + 1, 0

    def _requests(self, batch: np.ndarray, epoch: int, position: int) -> list[CropRequest]:
        crop = int(min(self.max_samples, self.lengths[batch].min()))
        return [CropRequest(int(i), crop, epoch, position) for i in batch]
