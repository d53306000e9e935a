"""Upstream features, extracted once per model and audio item, cached on disk.

Probes never run the upstream while training: its hidden states are extracted once.
Utterance-level heads (mean pooling after a linear projection) commute with the
weighted sum, so they need only each state's mean over valid frames (``pooled``,
``[L, D]`` per item, float32). Frame-level heads (CTC) need every frame (``frames``,
``[T, L, D]``, stored as float16 to halve the disk and memory cost).

Cache layout, one folder per model fingerprint (a digest of config and weights, so a
changed model never reuses stale features)::

    <cache>/<fingerprint>/index.json              item key -> (shard, row, frame offset, frames)
    <cache>/<fingerprint>/shard-<id>.safetensors  pooled [n, L, D], frames [F, L, D], lengths [n]

Items are keyed by their audio's identity (path, region, size, mtime, or a digest of an
in-memory waveform), so tasks sharing audio (PR, ASR and SID all use the corpus
sentences) share features. Frames are read from memory-mapped shards on demand.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor
from tqdm.auto import tqdm

from gendistiller import io
from gendistiller.audio import audio_info
from gendistiller.evaluation.probes.data import Example
from gendistiller.evaluation.superb import Upstream

log = logging.getLogger(__name__)

FORMAT = 1
INDEX_NAME = "index.json"
# A shard is written when its frames reach this size: bounds memory while extracting.
SHARD_BYTES = 256 << 20
# Samples (at 16 kHz, padding included) per extraction batch.
BATCH_SAMPLES = 16_000 * 24


@dataclass(frozen=True)
class _Item:
    shard: str
    row: int
    offset: int
    length: int
    has_frames: bool


class FeatureStore:
    """Hidden-state features of one upstream, on disk (``root``) or in memory (``None``)."""

    def __init__(self, upstream: Upstream, root: Path | None):
        self.num_states = upstream.num_hidden_states
        self.hidden_size = upstream.hidden_size
        self.root = root
        self.items: dict[str, _Item] = {}
        # shard -> its tensors (all of them in memory mode; the pooled ones once read from disk)
        self._memory: dict[str, dict[str, Tensor]] = {}
        self._handles: dict[str, object] = {}
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
            self._read_index()

    # --- reading -------------------------------------------------------------------------
    def has(self, key: str, frames: bool) -> bool:
        item = self.items.get(key)
        return item is not None and (item.has_frames or not frames)

    def length(self, key: str) -> int:
        """Valid frames of an item."""
        return self.items[key].length

    def pooled(self, keys: list[str]) -> Tensor:
        """``[N, L, D]`` float32: each state's mean over the item's valid frames."""
        rows = [self._tensor(self.items[k].shard, "pooled")[self.items[k].row] for k in keys]
        return torch.stack(rows).float()

    def frames(self, key: str) -> Tensor:
        """``[T, L, D]`` float16 frames of one item (only for items extracted with frames)."""
        item = self.items[key]
        if not item.has_frames:
            raise KeyError(f"features of {key} were extracted without frames")
        if self.root is None:
            return self._memory[item.shard]["frames"][item.offset : item.offset + item.length]
        return self._handle(item.shard).get_slice("frames")[item.offset : item.offset + item.length]

    def _tensor(self, shard: str, name: str) -> Tensor:
        if shard not in self._memory:
            self._memory[shard] = {"pooled": self._handle(shard).get_tensor("pooled")}
        return self._memory[shard][name]

    def _handle(self, shard: str):
        if shard not in self._handles:
            assert self.root is not None
            self._handles[shard] = safe_open(
                str(self.root / f"{shard}.safetensors"), framework="pt"
            )
        return self._handles[shard]

    # --- writing -------------------------------------------------------------------------
    def add(
        self, keys: list[str], pooled: Tensor, frames: list[Tensor | None], lengths: list[int]
    ) -> None:
        """Store one shard: ``pooled`` ``[n, L, D]``, per item ``[T, L, D]`` frames (or None
        when only the pooled features are needed) and its number of valid frames ``T``."""
        shard = f"shard-{uuid.uuid4().hex[:12]}"
        offset, parts, entries = 0, [], {}
        for row, (key, fr, n) in enumerate(zip(keys, frames, lengths, strict=True)):
            if fr is not None and fr.shape[0] != n:
                raise ValueError(f"{key}: {fr.shape[0]} frames given for length {n}")
            entries[key] = _Item(shard, row, offset, int(n), fr is not None)
            if fr is not None:
                parts.append(fr.to(torch.float16))
                offset += n
        empty = pooled.new_zeros(0, self.num_states, self.hidden_size, dtype=torch.float16)
        tensors = {
            "pooled": pooled.float().contiguous(),
            "frames": torch.cat(parts).contiguous() if parts else empty,
            "lengths": torch.tensor(list(lengths), dtype=torch.long),
        }
        if self.root is None:
            self._memory[shard] = tensors
        else:
            with io.atomic_path(self.root / f"{shard}.safetensors") as tmp:
                save_file(tensors, str(tmp))
        self.items.update(entries)
        if self.root is not None:
            self._write_index()

    def _read_index(self) -> None:
        assert self.root is not None
        path = self.root / INDEX_NAME
        if not path.is_file():
            return
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
            if index.get("format") != FORMAT:
                raise ValueError(f"format {index.get('format')}")
            items = {k: _Item(*v) for k, v in index["items"].items()}
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("ignoring unreadable feature cache index %s (%s)", path, err)
            return
        self.items = {
            k: v for k, v in items.items() if (self.root / f"{v.shard}.safetensors").is_file()
        }

    def _write_index(self) -> None:
        assert self.root is not None
        index = {
            "format": FORMAT,
            "num_states": self.num_states,
            "hidden_size": self.hidden_size,
            "items": {
                k: [v.shard, v.row, v.offset, v.length, v.has_frames] for k, v in self.items.items()
            },
        }
        io.write_json(self.root / INDEX_NAME, index, indent=None)


def build_store(
    upstream: Upstream,
    examples: Iterable[Example],
    frame_keys: set[str],
    cache_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> FeatureStore:
    """Features of ``examples`` (frames too for audio keys in ``frame_keys``), reusing
    what ``cache_dir`` already holds for this exact model."""
    root = None if cache_dir is None else Path(cache_dir) / upstream.fingerprint()
    store = FeatureStore(upstream, root)
    todo: dict[str, Example] = {}
    for ex in examples:
        key = ex.audio_key
        if not store.has(key, key in frame_keys) and key not in todo:
            todo[key] = ex
    if not todo:
        return store
    sizes = {
        key: num_samples(ex)
        for key, ex in tqdm(todo.items(), desc="scan audio", disable=not progress)
    }
    order = sorted(todo, key=lambda k: -sizes[k])  # similar lengths batch together
    pending: tuple[list[str], list[Tensor], list[Tensor | None], list[int]] = ([], [], [], [])
    pending_bytes = 0
    bar = tqdm(total=len(order), desc=f"features {upstream.name}", unit="utt", disable=not progress)
    for batch in _batches(order, sizes):
        waves = [torch.from_numpy(todo[k].load()) for k in batch]
        padded = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
        out = upstream.extract(padded, torch.tensor([w.shape[0] for w in waves]))
        stacked = torch.stack(out.hidden_states, dim=2)  # [B, T, L, D], zero past each end
        pooled = stacked.sum(dim=1) / out.lengths.clamp(min=1)[:, None, None].to(stacked.dtype)
        for i, key in enumerate(batch):
            keep = (
                stacked[i, : int(out.lengths[i])].to(torch.float16) if key in frame_keys else None
            )
            pending[0].append(key)
            pending[1].append(pooled[i])
            pending[2].append(keep)
            pending[3].append(int(out.lengths[i]))
            pending_bytes += 0 if keep is None else keep.numel() * 2
        if pending_bytes >= SHARD_BYTES:
            store.add(pending[0], torch.stack(pending[1]), pending[2], pending[3])
            pending, pending_bytes = ([], [], [], []), 0
        bar.update(len(batch))
    bar.close()
    if pending[0]:
        store.add(pending[0], torch.stack(pending[1]), pending[2], pending[3])
    return store


def num_samples(ex: Example) -> int:
    """Length of an example's audio at 16 kHz, from the file header when it is a file."""
    if isinstance(ex.audio, str):
        return ex.num_samples if ex.num_samples > 0 else audio_info(ex.audio).num_samples
    return int(ex.audio.shape[-1])


def _batches(order: list[str], sizes: dict[str, int]) -> Iterable[list[str]]:
    batch: list[str] = []
    for key in order:
        longest = sizes[batch[0]] if batch else sizes[key]
        if batch and longest * (len(batch) + 1) > BATCH_SAMPLES:
            yield batch
            batch = []
        batch.append(key)
    if batch:
        yield batch
