"""The teacher's hidden states for a run's fixed sequence of batches, read from disk.

Every student of one run seed sees the same batches (the order and the crops are a pure
function of the seed, the data settings and the file list, see
:mod:`gendistiller.data.sampler`), so the teacher's states for them can be computed once
(:mod:`.teacher_cache_build`) and read by every student instead of running the teacher.

Layout of a cache folder::

    index.json                      settings, layers, dtype, shards (written last, atomically)
    shard-<first position>.safetensors   "<position>.<layer>" -> [B, T, D], read memory-mapped

A batch is looked up by a digest of its waveform tensor (dtype, shape and bytes; every
utterance of a batch has the full crop length, so the shape is the lengths), never by
its position: a batch that is not in the cache is a miss, which the training module
answers by running the teacher, never with another batch's states. The index records the
teacher's fingerprint (config and weights) and the data settings; a cache built for
another teacher, seed, crop size or file list is refused with one line. Shards are
immutable once named and the index is replaced atomically, so any number of processes
can read one cache at the same time.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import Tensor

from gendistiller.errors import ConfigError, one_line

FORMAT = 1
INDEX_NAME = "index.json"
_OPEN_SHARDS = 4  # memory maps kept open; batches are read in order, so one is busy at a time


def batch_key(waveforms: Tensor) -> str:
    """The digest a batch is cached under: dtype, shape and every byte of the waveforms."""
    w = waveforms.detach().to("cpu").contiguous()
    digest = hashlib.blake2b(f"{w.dtype}|{tuple(w.shape)}|".encode(), digest_size=16)
    digest.update(w.view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def cache_settings(cfg: Any, teacher_fingerprint: str, files_digest: str) -> dict[str, Any]:
    """What the cached states depend on, besides the batches themselves; ``cfg`` is a
    :class:`~gendistiller.training.config.DistillConfig`."""
    d, t = cfg.data, cfg.teacher
    return {
        "teacher": teacher_fingerprint,
        "teacher_precision": cfg.trainer.precision if t.mixed_precision else "32",
        "seed": cfg.run.seed,
        "files": files_digest,
        "max_samples": d.max_samples,
        "min_samples": d.min_samples,
        "batch_size": d.batch_size,
        "bucket_batches": d.bucket_batches,
        "float16": t.cache_float16,
    }


def read_index(path: Path) -> dict[str, Any] | None:
    """The index of the cache in folder ``path``; None if there is none."""
    file = Path(path) / INDEX_NAME
    if not file.is_file():
        return None
    try:
        index = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"teacher.cache: {file} is not readable ({one_line(err)})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ConfigError(f"teacher.cache: {file} is not a gendistiller teacher cache index")
    return index


def check_settings(path: Path, index: dict[str, Any], settings: dict[str, Any]) -> None:
    """One line naming the first setting the cache was built with that this run lacks."""
    built = index.get("settings", {})
    for key, now in settings.items():
        if built.get(key) != now:
            raise ConfigError(
                f"teacher.cache: {path} was built for another run ({key}: {built.get(key)!r}"
                f" there, {now!r} here); build it for this run or set teacher.cache=''"
            )


class TeacherCache:
    """Read-only view of a built cache: ``get(waveforms)`` -> the states, or None."""

    def __init__(self, path: Path, index: dict[str, Any]):
        self.path = Path(path)
        self.index = index
        self.layers = [int(x) for x in index["layers"]]
        self.num_states = int(index["num_states"])
        self.dtype = getattr(torch, str(index["source_dtype"]), None)
        if not isinstance(self.dtype, torch.dtype):
            raise ConfigError(f"teacher.cache: {path}: unknown dtype {index['source_dtype']!r}")
        self.batches = int(index["batches"])
        self._where: dict[str, tuple[str, int]] = {}
        for shard in index["shards"]:
            for position, key in enumerate(shard["keys"], start=shard["start"]):
                self._where[key] = (shard["file"], position)
        self._handles: OrderedDict[str, Any] = OrderedDict()

    @classmethod
    def read(cls, path: str | Path) -> TeacherCache:
        """The cache in folder ``path``; :class:`ConfigError` (one line) if there is none."""
        path = Path(path).expanduser()
        index = read_index(path)
        if index is None:
            raise ConfigError(f"teacher.cache: {path} holds no teacher cache (no {INDEX_NAME})")
        return cls(path, index)

    def check(self, settings: dict[str, Any], layers: list[int]) -> TeacherCache:
        """Itself if it was built for ``settings`` and holds ``layers``; else
        :class:`ConfigError`, one line."""
        check_settings(self.path, self.index, settings)
        missing = sorted(set(layers) - set(self.layers))
        if missing:
            raise ConfigError(
                f"teacher.cache: {self.path} lacks teacher layer(s) {missing} (it holds"
                f" {self.layers}); build it with those layers or set teacher.cache=''"
            )
        return self

    def __contains__(self, waveforms: Tensor) -> bool:
        return batch_key(waveforms) in self._where

    def get(self, waveforms: Tensor) -> list[Tensor | None] | None:
        """The teacher's states for this batch (a list indexed by layer, None at the layers
        not stored), on the CPU in the teacher's dtype; None if the batch is not cached."""
        where = self._where.get(batch_key(waveforms))
        if where is None:
            return None
        handle = self._handle(where[0])
        states: list[Tensor | None] = [None] * self.num_states
        for layer in self.layers:
            states[layer] = handle.get_tensor(f"{where[1]}.{layer}").to(self.dtype)
        return states

    def _handle(self, name: str) -> Any:
        if name in self._handles:
            self._handles.move_to_end(name)
            return self._handles[name]
        handle = safe_open(str(self.path / name), framework="pt", device="cpu")
        self._handles[name] = handle
        while len(self._handles) > _OPEN_SHARDS:
            self._handles.popitem(last=False)
        return handle
