"""The LightningModule: teacher forward under no_grad, student forward/backward, loss.

Only the student is a registered submodule: the teacher is held outside the module tree,
so it is never in a checkpoint, never wrapped by DDP and never touched by the optimiser;
it is moved to the device here, in eval mode. Dropout and teacher-forcing draws are
reseeded from (seed, rank, batch position) before every batch, which makes the global
RNG state a function of the data position: restoring the position restores it too.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np
import torch
from torch import Tensor

from gendistiller.config import to_dict
from gendistiller.errors import GenDistillerError
from gendistiller.loss import DistillationLoss, depth_weights
from gendistiller.training.config import DistillConfig
from gendistiller.training.optim import build_optimizer

if TYPE_CHECKING:
    from gendistiller.training.teacher_cache import TeacherCache

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "gendistiller"
CHECKPOINT_FORMAT = 1


class NonFiniteLossError(GenDistillerError):
    """Too many NaN/inf losses in a row: training cannot recover on its own."""


class DistillationModule(L.LightningModule):
    def __init__(
        self,
        student: torch.nn.Module,
        teacher: torch.nn.Module,
        cfg: DistillConfig,
        teacher_cache: TeacherCache | None = None,
    ):
        super().__init__()
        self.student = student
        self._teacher = (teacher,)  # a tuple hides it from nn.Module registration
        self.cfg = cfg
        self.teacher_cache = teacher_cache
        self.cache_hits = 0
        self.cache_misses = 0  # batches the cache did not hold: the teacher ran for them
        self.target_layers = [int(layer) for layer in student.config.target_layers]
        weights = depth_weights(self.target_layers, cfg.loss.depth_weight_exponent)
        self.loss_fn = DistillationLoss(cfg.loss.cos_weight, cfg.loss.distance, weights)
        self.nonfinite_in_row = 0
        self.skipped_steps = 0
        self._last_batch_time: float | None = None
        self._throughput: float | None = None  # audio seconds per second, smoothed

    @property
    def teacher(self) -> torch.nn.Module:
        return self._teacher[0]

    # --- setup -------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        self.teacher.to(self.device).eval()

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.cfg.optim
        return build_optimizer(
            self.student.parameters(),
            lr=o.lr,
            betas=o.betas,
            eps=o.eps,
            weight_decay=o.weight_decay,
            warmup_ratio=o.warmup_ratio,
            total_steps=self.cfg.trainer.max_steps,
        )

    # --- training ----------------------------------------------------------------------
    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        seed = step_seed(self.cfg.run.seed, self.global_rank, batch["position"])
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        waves = batch["waveforms"]
        teacher_states = self._teacher_states(waves)
        # a function of the optimiser step alone (a schedule's values), so resume is exact
        options = self.student.training_options(self.global_step, self.cfg.trainer.max_steps)
        out = self.student(waves, teacher_states=teacher_states, **options)
        preds, targets = self._align(
            out.predictions, [teacher_states[k] for k in self.target_layers]
        )
        loss = self.loss_fn(preds, targets)
        if self._skip_nonfinite(loss.total):
            return None
        self.nonfinite_in_row = 0
        self._log_step(batch, loss.total, loss.distance, loss.cos, waves, teacher_states)
        if "teacher_forcing_ratio" in options:
            self.log("train/teacher_forcing_ratio", float(options["teacher_forcing_ratio"]))
        return loss.total

    def _teacher_states(self, waves: Tensor) -> list[Tensor]:
        """All the teacher's states (from the cache, only the layers it holds, None elsewhere)."""
        if self.teacher_cache is not None:
            cached = self.teacher_cache.get(waves)
            if cached is not None:
                self.cache_hits += 1
                return [s if s is None else s.to(self.device, non_blocking=True) for s in cached]
            self.cache_misses += 1
        return teacher_forward(self.teacher, waves, self.cfg)

    @staticmethod
    def _align(preds: list[Tensor], targets: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        # Same stride on both sides; a different front-end may still differ by a frame.
        t = min(min(p.shape[1] for p in preds), min(x.shape[1] for x in targets))
        return [p[:, :t] for p in preds], [x[:, :t] for x in targets]

    def _skip_nonfinite(self, total: Tensor) -> bool:
        local_bad = not bool(torch.isfinite(total.detach()))
        # every rank must agree, or DDP would wait forever for the skipping rank's gradients
        bad = self.trainer.strategy.reduce_boolean_decision(local_bad, all=False)
        if not bad:
            return False
        self.nonfinite_in_row += 1
        self.skipped_steps += 1
        limit = self.cfg.trainer.max_nonfinite_steps
        if self.nonfinite_in_row >= limit:
            raise NonFiniteLossError(
                f"the loss was NaN/inf for {self.nonfinite_in_row} batches in a row (at step"
                f" {self.global_step}); stopping. The checkpoints already written are intact:"
                " lower optim.lr, use trainer.precision=32, or check the data, then resume"
            )
        if self.global_rank == 0:
            log.warning(
                "step %d: the loss is NaN/inf; skipping this batch (%d in a row, stopping at %d)",
                self.global_step,
                self.nonfinite_in_row,
                limit,
            )
        return True

    def _log_step(
        self,
        batch: dict[str, Any],
        total: Tensor,
        distance: Tensor,
        cos: Tensor,
        waves: Tensor,
        teacher_states: list[Tensor],
    ) -> None:
        self.log("loss", total.detach(), prog_bar=True)
        self.log("audio_s/s", self._update_throughput(batch["seconds"]), prog_bar=True)
        self.log("data_epoch", float(batch.get("epoch", 0)))
        name = self.cfg.loss.distance
        for k, layer in enumerate(self.target_layers):
            self.log(f"train/{name}_layer{layer}", distance[k])
            self.log(f"train/cos_layer{layer}", cos[k])
        forced = bool(getattr(self.student.config, "forces_teacher", False))
        if forced and self.global_step % self.cfg.trainer.log_every_n_steps == 0:
            self._log_free_running(waves, teacher_states, name)

    @torch.no_grad()
    def _log_free_running(self, waves: Tensor, teacher_states: list[Tensor], name: str) -> None:
        """Teacher forcing hides exposure bias: measure each layer as inference runs it."""
        self.student.eval()
        try:
            out = self.student(waves)
        finally:
            self.student.train()
        preds, targets = self._align(
            out.predictions, [teacher_states[k] for k in self.target_layers]
        )
        free = self.loss_fn(preds, targets)
        for k, layer in enumerate(self.target_layers):
            self.log(f"free/{name}_layer{layer}", free.distance[k])
            self.log(f"free/cos_layer{layer}", free.cos[k])

    def _update_throughput(self, seconds: float) -> float:
        now = time.perf_counter()
        if self._last_batch_time is not None:
            rate = seconds * self.trainer.world_size / max(now - self._last_batch_time, 1e-9)
            self._throughput = (
                rate if self._throughput is None else 0.9 * self._throughput + 0.1 * rate
            )
        self._last_batch_time = now
        return float(self._throughput or 0.0)

    # --- checkpoints -------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = {
            k: v for k, v in checkpoint["state_dict"].items() if k.startswith("student.")
        }
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "config": to_dict(self.cfg),
            "student_config": self.student.config.to_dict(),
            "skipped_steps": self.skipped_steps,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.skipped_steps = int(checkpoint.get(CHECKPOINT_KEY, {}).get("skipped_steps", 0))


def teacher_forward(teacher: torch.nn.Module, waves: Tensor, cfg: DistillConfig) -> list[Tensor]:
    """The teacher's hidden states for one batch, as every training step computes them
    (and the teacher cache stores them): fp32 under a mixed-precision trainer unless
    ``teacher.mixed_precision``."""
    with teacher_precision(cfg, waves.device.type), torch.no_grad():
        return list(teacher(waves.float()).hidden_states)


def teacher_precision(cfg: DistillConfig, device_type: str) -> contextlib.AbstractContextManager:
    """fp32 for the teacher under a mixed-precision trainer, unless ``teacher.mixed_precision``."""
    if cfg.trainer.precision != "32" and not cfg.teacher.mixed_precision:
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def step_seed(seed: int, rank: int, position: int) -> int:
    """A well-mixed 63-bit seed for one batch of one rank."""
    # int() first: numpy 1.x refuses `uint64 >> int` (no safe common type); same value.
    return int(np.random.SeedSequence([seed, rank, position]).generate_state(2, np.uint64)[0]) >> 1
