"""Random crops of the scanned files, reproducible from (seed, epoch, file index).

A file that fails when loaded (changed since the scan, NaN/inf inside, unreadable
frames) is replaced by the next usable file of the corpus, so batches keep their size
and the replacement is the same in every run. The replaced file is reported in the
batch (``"skipped"``) so the main process can warn once per file, whichever worker
process met it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gendistiller.audio import SAMPLE_RATE, AudioError, load_audio_crop
from gendistiller.data.sampler import CropRequest
from gendistiller.data.sources import AudioEntry
from gendistiller.errors import DataError


class CropDataset(Dataset):
    def __init__(self, entries: Sequence[AudioEntry], seed: int = 0):
        self.entries = list(entries)
        self.seed = seed
        self._bad: dict[int, str] = {}  # per process; a cache, not part of the result

    def __len__(self) -> int:
        return len(self.entries)

    def crop_start(self, index: int, crop: int, epoch: int) -> int:
        rng = np.random.default_rng([self.seed, epoch, index])
        return int(rng.integers(0, self.entries[index].num_samples - crop + 1))

    def __getitem__(self, request: CropRequest) -> dict[str, Any]:
        index, crop, epoch, position = request
        skipped: list[tuple[str, str]] = []
        n = len(self.entries)
        for step in range(n):
            k = (index + step) % n
            entry = self.entries[k]
            if k in self._bad or entry.num_samples < crop:
                continue
            try:
                wave = load_audio_crop(entry.path, self.crop_start(k, crop, epoch), crop)
            except AudioError as err:
                self._bad[k] = err.problem
                skipped.append((entry.path, err.problem))
                continue
            return {
                "wave": wave,
                "index": k,
                "epoch": epoch,
                "position": position,
                "skipped": skipped,
            }
        example = next(iter(self._bad.items()), None)
        detail = f", e.g. {self.entries[example[0]].path}: {example[1]}" if example else ""
        raise DataError(
            f"no usable audio left: every file of at least {crop} samples failed to load"
            f" ({len(self._bad)} bad files{detail})"
        )


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack equal-length crops into ``waveforms [B, N]``; no padding is ever needed."""
    waves = torch.from_numpy(np.stack([item["wave"] for item in items]))
    return {
        "waveforms": waves,
        "indices": torch.tensor([item["index"] for item in items], dtype=torch.long),
        "position": int(items[0]["position"]),
        "epoch": int(items[0]["epoch"]),
        "seconds": waves.numel() / SAMPLE_RATE,
        "skipped": [s for item in items for s in item["skipped"]],
    }
