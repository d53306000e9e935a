"""The Lightning data module: scanned files in, resumable batches of equal-length crops out.

Its checkpointed state is the number of batches this rank has consumed. It is read
from each batch's own stream position as the batch reaches the device (so loader
prefetching cannot skew it) and handed back to the sampler on resume.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from gendistiller.data.config import DataConfig
from gendistiller.data.dataset import CropDataset, collate
from gendistiller.data.sampler import ResumableBatchSampler
from gendistiller.data.sources import ScanReport

log = logging.getLogger(__name__)


class AudioDataModule(L.LightningDataModule):
    def __init__(self, report: ScanReport, cfg: DataConfig, seed: int = 0):
        super().__init__()
        self.report = report
        self.cfg = cfg
        self.seed = seed
        self.dataset = CropDataset(report.entries, seed)
        self.consumed = 0  # batches this rank has taken from the stream
        self.load_skipped: dict[str, str] = {}  # files that failed after the scan
        self.sampler: ResumableBatchSampler | None = None

    def make_sampler(self, rank: int = 0, world_size: int = 1) -> ResumableBatchSampler:
        return ResumableBatchSampler(
            [e.num_samples for e in self.report.entries],
            self.cfg.batch_size,
            self.cfg.max_samples,
            seed=self.seed,
            bucket_batches=self.cfg.bucket_batches,
            rank=rank,
            world_size=world_size,
            start=self.consumed,
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        self.sampler = self.make_sampler(rank, world)
        workers = self.cfg.num_workers
        return DataLoader(
            self.dataset,
            batch_sampler=self.sampler,
            collate_fn=collate,
            num_workers=workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        self.consumed = batch["position"] + 1
        for path, problem in batch["skipped"]:
            if path not in self.load_skipped:
                self.load_skipped[path] = problem
                log.warning("skipping %s: %s", path, problem)
        return batch

    @property
    def epoch(self) -> int:
        """The data epoch the next batch belongs to."""
        per_epoch = self.sampler.batches_per_epoch if self.sampler else 1
        return self.consumed // max(1, per_epoch)

    def summary(self) -> str:
        text = self.report.summary()
        if self.load_skipped:
            text += f"; {len(self.load_skipped)} more skipped when loaded"
        return text

    def state_dict(self) -> dict[str, Any]:
        return {
            "consumed": self.consumed,
            "files": len(self.dataset),
            "digest": self.files_digest(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.consumed = int(state["consumed"])
        if state.get("digest") != self.files_digest():
            log.warning(
                "the file list changed since the checkpoint (%s files then, %s now): the"
                " resumed run continues at batch %d of a different order",
                state.get("files"),
                len(self.dataset),
                self.consumed,
            )

    def files_digest(self) -> str:
        """A digest of the usable files and their lengths: what the batch order is drawn from."""
        h = hashlib.sha1()
        for e in self.report.entries:
            h.update(f"{e.path}\t{e.num_samples}\n".encode())
        return h.hexdigest()
