"""Training checkpoints that survive a kill: atomic writes, last-k retention, safe resume.

Lightning's own writer goes through an fsspec transaction, whose local temp file sits in
the system temp folder; moving it onto another file system is a copy, which a kill can
cut in half. :class:`AtomicCheckpointIO` writes next to the target, fsyncs, then renames.
Reading uses ``weights_only=True``: a checkpoint holds tensors and plain data only, so
nothing in it can run code. :func:`find_resume_checkpoint` skips a damaged newest file
with a warning and falls back to the newest one that loads.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gendistiller.config import to_dict
from gendistiller.errors import CheckpointError, one_line
from gendistiller.io import atomic_open, remove_stale_temps
from gendistiller.training.module import CHECKPOINT_KEY

if TYPE_CHECKING:
    from gendistiller.training.config import DistillConfig

log = logging.getLogger(__name__)

CKPT_DIR = "checkpoints"
_NAME = re.compile(r"^step-(\d+)\.ckpt$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:09d}.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        with atomic_open(path, "wb") as fh:
            torch.save(checkpoint, fh)

    def load_checkpoint(
        self, path: Any, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return read_checkpoint(path, map_location or "cpu")


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a training checkpoint without unpickling code; :class:`CheckpointError` if damaged."""
    try:
        data = torch.load(str(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as err:  # truncated zip, garbage, or a pickle with code in it
        raise CheckpointError(f"{path}: not a readable checkpoint ({one_line(err)})") from None
    if not isinstance(data, dict) or not {"state_dict", "global_step", "loops"} <= set(data):
        raise CheckpointError(f"{path}: not a gendistiller training checkpoint")
    return data


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the run's checkpoints, newest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found, reverse=True)


def find_resume_checkpoint(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint in ``folder`` that loads, with its content; damaged ones are
    reported and skipped, so a half-written file never blocks a resume."""
    for _, path in list_checkpoints(folder):
        try:
            return path, read_checkpoint(path)
        except CheckpointError as err:
            log.warning("ignoring damaged checkpoint %s; trying the previous one", err)
    return None


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a save that was killed before its rename."""
    remove_stale_temps(folder)


class PeriodicCheckpoint(L.Callback):
    """Save every ``every_n_steps`` optimiser steps and at the end; keep the last ``keep_last``.

    Not Lightning's ``ModelCheckpoint`` (tried with ``monitor="step"``, ``save_top_k``,
    ``every_n_train_steps``): its retention only knows the files recorded in the
    checkpoint's own callback state, so a run folder that was moved or copied before a
    resume keeps every older checkpoint for good (``keep_last=3`` left 4 files in the
    resume test); it saves at the end of training only through private members
    (``_save_topk_checkpoint``, ``_last_global_step_saved``), and warns at every resume
    that the folder is not empty. Retention here is by the files on disk.
    """

    def __init__(self, folder: Path, every_n_steps: int, keep_last: int):
        self.folder = Path(folder)
        self.every_n_steps = every_n_steps
        self.keep_last = keep_last
        self.last_saved = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.last_saved = trainer.global_step  # the step we resumed at is on disk already

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        step = trainer.global_step
        if step != self.last_saved and step % self.every_n_steps == 0:
            self.save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self.last_saved:
            self.save(trainer)

    def save(self, trainer: L.Trainer) -> Path:
        path = self.folder / checkpoint_name(trainer.global_step)
        # every rank calls it (the strategy writes on rank 0); weights_only=False: full state
        trainer.save_checkpoint(path, weights_only=False)
        self.last_saved = trainer.global_step
        if trainer.is_global_zero:
            for _, old in list_checkpoints(self.folder)[self.keep_last :]:
                old.unlink(missing_ok=True)
        return path


def check_compatible(
    path: Path, content: dict[str, Any], cfg: DistillConfig, student_config: Any, stage: str = ""
) -> None:
    """Refuse a checkpoint of another student, or of another stage (``stage``: the
    checkpoint's ``stage`` tag, "" for the main distillation); warn of changed settings."""
    from gendistiller.students.presets import field_names

    saved = content.get(CHECKPOINT_KEY, {})
    if saved.get("stage", "") != stage:
        raise CheckpointError(
            f"{path}: a checkpoint of the {saved.get('stage') or 'main'} stage, not of the"
            f" {stage or 'main'} one; resume with run.resume=auto, which finds each stage's own"
        )
    saved_student = saved.get("student_config", {})
    now = student_config.to_dict()
    for key in sorted(field_names(type(student_config))):
        if key in saved_student and _norm(saved_student[key]) != _norm(now.get(key)):
            raise CheckpointError(
                f"{path}: trained with student {key}={saved_student[key]!r}, the config now says"
                f" {now.get(key)!r}; resume with the same student, or start a new run.dir"
            )
    changed = _diff(saved.get("config", {}), to_dict(cfg))
    changed = [k for k in changed if k not in ("run.resume",)]
    if changed:
        log.warning("resuming with changed settings: %s", ", ".join(changed))


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            d for k in keys for d in _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        ]
    return [] if _norm(old) == _norm(new) else [prefix]
