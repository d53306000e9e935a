"""Building a teacher cache (:mod:`.teacher_cache`): the teacher run once over the batches
a training run will see.

:func:`build_teacher_cache` iterates exactly the batches of the run ``cfg`` describes
(its data module, sampler, crops and seed: the code path training uses), runs the teacher
as the training step does (:func:`~gendistiller.training.module.teacher_forward`) and
writes the states of the target layers. Shards are written atomically and the index is
rewritten after each one, so a killed build resumes after its last complete shard; an
unreadable index restarts it from the beginning. A folder holding a cache of another run
is refused, never overwritten.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import Tensor
from tqdm.auto import tqdm

from gendistiller.errors import ConfigError
from gendistiller.io import atomic_path, remove_stale_temps, write_json
from gendistiller.training.teacher_cache import (
    FORMAT,
    INDEX_NAME,
    batch_key,
    cache_settings,
    check_settings,
    read_index,
)

log = logging.getLogger(__name__)

SHARD_BYTES = 256 << 20  # states held in memory before a shard is written


class CacheWriter:
    """Appends batches' states to the cache in ``path``, resuming a partial one."""

    def __init__(
        self,
        path: str | Path,
        settings: dict[str, Any],
        layers: list[int],
        num_states: int,
        batch_bytes: int,
        extra: dict[str, Any] | None = None,
    ):
        self.path = Path(path).expanduser()
        self.path.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.path)
        try:
            index = read_index(self.path)
        except ConfigError as err:
            log.warning("%s; building the teacher cache from the start", err)
            index = None
        if index is not None:
            check_settings(self.path, index, settings)
            if index["layers"] != layers:
                raise ConfigError(
                    f"teacher.cache: {self.path} holds layers {index['layers']}, asked for"
                    f" {layers}; use another folder"
                )
        self.index = index or {
            "format": FORMAT,
            "settings": settings,
            "layers": layers,
            "num_states": num_states,
            "source_dtype": None,
            "shard_batches": max(1, SHARD_BYTES // max(1, batch_bytes)),
            "batches": 0,
            "bytes": 0,
            "shards": [],
            **(extra or {}),
        }
        self.float16 = bool(settings["float16"])
        self._pending: dict[str, Tensor] = {}
        self._keys: list[str] = []

    @property
    def done(self) -> int:
        """Batches on disk (stream positions ``0 .. done - 1``)."""
        return int(self.index["batches"]) + len(self._keys)

    def add(self, waveforms: Tensor, states: list[Tensor]) -> None:
        """The states (all of the teacher's, indexed by layer) of the batch at ``done``."""
        position = self.done
        self.index["source_dtype"] = str(states[self.index["layers"][0]].dtype).split(".")[-1]
        for layer in self.index["layers"]:
            state = states[layer].detach().to("cpu")
            state = state.to(torch.float16) if self.float16 else state.clone()
            if self.float16 and not bool(torch.isfinite(state).all()):
                raise ConfigError(
                    f"teacher.cache_float16: teacher layer {layer} exceeds the float16 range"
                    f" (batch {position}); build the cache with teacher.cache_float16=false"
                )
            self._pending[f"{position}.{layer}"] = state.contiguous()
        self._keys.append(batch_key(waveforms))
        if len(self._keys) >= self.index["shard_batches"]:
            self.flush()

    def flush(self) -> None:
        if not self._keys:
            return
        start = int(self.index["batches"])
        name = f"shard-{start:09d}.safetensors"
        with atomic_path(self.path / name) as tmp:
            save_file(self._pending, str(tmp))
        self.index["shards"].append({"file": name, "start": start, "keys": self._keys})
        self.index["batches"] = start + len(self._keys)
        self.index["bytes"] += (self.path / name).stat().st_size
        write_json(self.path / INDEX_NAME, self.index, indent=None)
        self._pending, self._keys = {}, []


def write_batches(
    writer: CacheWriter,
    teacher: torch.nn.Module,
    batches: Iterable[dict[str, Any]],
    cfg: Any,
    device: torch.device,
    progress: bool = False,
    total: int | None = None,
) -> None:
    """Run the teacher on each batch as training does and append its states."""
    from gendistiller.training.module import teacher_forward

    teacher.to(device).eval()
    bar = tqdm(total=total, initial=writer.done, desc="teacher cache", disable=not progress)
    with bar, _autocast(cfg, device):
        for batch in batches:
            waves = batch["waveforms"]
            writer.add(waves, teacher_forward(teacher, waves.to(device), cfg))
            bar.update()
    writer.flush()


def build_teacher_cache(
    cfg: Any,
    path: str | Path,
    *,
    steps: int | None = None,
    progress: bool = False,
    layers: list[int] | None = None,
    device: str = "cpu",
) -> Path:
    """Cache the teacher's states for the first ``steps`` optimiser steps (default:
    ``cfg.trainer.max_steps``) of the run ``cfg`` (a ``DistillConfig``) in folder ``path``;
    ``layers`` (default: the student's target layers) must cover the layers of every
    student that will read it. Resumes a partial build; returns ``path``."""
    from gendistiller.data.module import AudioDataModule
    from gendistiller.data.sources import scan_source
    from gendistiller.encoders import fingerprint
    from gendistiller.teachers import load_teacher, teacher_config

    threads = torch.get_num_threads()
    if cfg.trainer.cpu_threads:
        torch.set_num_threads(cfg.trainer.cpu_threads)
    try:
        cfg.data.check_paths()
        t = cfg.teacher
        student = cfg.student.build_config(
            teacher_config=teacher_config(t.spec, **t.overrides)
            if cfg.student.scale_to_teacher
            else None
        )
        layers = sorted({int(x) for x in (layers or student.target_layers)})
        report = scan_source(cfg.data, progress=progress)
        teacher = load_teacher(t.spec, seed=t.seed, **t.overrides)
        teacher.check_layers(layers)
        data = AudioDataModule(report, cfg.data, cfg.run.seed)
        settings = cache_settings(cfg, fingerprint(teacher), data.files_digest())
        frames = teacher.geometry.num_frames(cfg.data.max_samples)
        per_batch = cfg.data.batch_size * frames * teacher.hidden_size * len(layers) * 4
        writer = CacheWriter(
            path, settings, layers, teacher.num_hidden_states, per_batch, {"teacher_spec": t.spec}
        )
        total = (steps or cfg.trainer.max_steps) * cfg.trainer.accumulate_grad_batches
        if writer.done < total:
            data.consumed = writer.done  # the sampler starts where the cache ends
            batches = islice(iter(data.train_dataloader()), total - writer.done)
            write_batches(writer, teacher, batches, cfg, torch.device(device), progress, total)
        log.info("teacher cache %s: %d batches, %.1f MB", writer.path, writer.done,
                 writer.index["bytes"] / 1e6)  # fmt: skip
        return writer.path
    finally:
        torch.set_num_threads(threads)


def _autocast(cfg: Any, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast training runs the step under, for a teacher run in mixed precision
    (``teacher_forward`` turns it off otherwise); Lightning's CPU fp16 is bfloat16."""
    precision = cfg.trainer.precision
    if precision == "32" or not cfg.teacher.mixed_precision:
        return contextlib.nullcontext()
    half = precision == "16-mixed" and device.type != "cpu"
    return torch.autocast(device.type, dtype=torch.float16 if half else torch.bfloat16)
