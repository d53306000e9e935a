"""The front-end stage: a light front-end learns the teacher's before the main distillation.

A light front-end (``frontend: fbank``) has no counterpart in the teacher and starts from
random weights, while everything after it (projection, positional convolution,
LayerNorm, blocks) is copied from the teacher. ``frontend_stage.steps`` optimiser steps
then train it, and only it (``frontend_stage.trainable``), to reproduce what the
teacher's front-end gives, before the main distillation starts:

- ``target: layer0``: the student's hidden state 0 against the teacher's layer 0 (the
  input of its first block, which the student's teacher-initialised block expects);
- ``target: cnn``: the feature extractor's output against the teacher's CNN output (its
  ``extract_features`` before the projection).

Only the teacher's front-end runs for either target (:func:`teacher_frontend`: its CNN,
and for ``layer0`` its projection, positional convolution and LayerNorm), a fraction of
its forward. With ``teacher.cache``, a cache that holds layer 0 serves the ``layer0``
targets; the CNN output is not a hidden state, and no cache holds it.

The stage is a Lightning fit of its own, with its own folder (``frontend_stage/`` in the
run folder: checkpoints, ``loss.jsonl``, logs) and its own data module, whose stream is
the main run's (the same seed: the stage sees the main run's first batches, which a
teacher cache built for the run therefore holds). Its checkpoints carry ``stage:
frontend``, so neither stage resumes from the other's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gendistiller.errors import ConfigError, TeacherError
from gendistiller.loss import DistillationLoss
from gendistiller.training.module import (
    CHECKPOINT_KEY,
    DistillationModule,
    teacher_precision,
)
from gendistiller.training.optim import build_optimizer

if TYPE_CHECKING:
    from gendistiller.training.config import DistillConfig
    from gendistiller.training.teacher_cache import TeacherCache

log = logging.getLogger(__name__)

#: The ``stage`` tag of this stage's checkpoints, and its folder in the run folder.
STAGE = "frontend"
STAGE_DIR = "frontend_stage"

#: Student parameter prefixes each ``frontend_stage.trainable`` choice trains.
TRAINABLE: dict[str, tuple[str, ...]] = {
    "features": ("frontend.feature_extractor.",),
    "projection": ("frontend.feature_extractor.", "frontend.feature_projection."),
    "frontend": ("frontend.",),
}


def trained_prefixes(target: str, trainable: str) -> tuple[str, ...]:
    """What the stage trains: ``trainable``, within what the ``target``'s loss reaches
    (the CNN output's loss reaches the feature extractor only)."""
    return TRAINABLE["features" if target == "cnn" else trainable]


@torch.no_grad()
def teacher_frontend(teacher: torch.nn.Module, waveforms: Tensor, target: str) -> Tensor:
    """``[B, T, C]``: the teacher's CNN output (``target="cnn"``) or its layer 0
    (``"layer0"``: what ``hidden_states[0]`` of its forward is), computed by its
    front-end alone, for batches without padding (training crops)."""
    model = getattr(teacher, "model", teacher)
    cnn = model.feature_extractor(waveforms).transpose(1, 2)
    if target == "cnn":
        return cnn
    projected = model.feature_projection(cnn)  # wav2vec 2.0 and WavLM also return the normed CNN
    x = projected[0] if isinstance(projected, tuple) else projected
    x = x + model.encoder.pos_conv_embed(x)
    # post-LN models normalise before the first block; pre-LN ones after the last
    return (
        x if getattr(model.config, "do_stable_layer_norm", False) else model.encoder.layer_norm(x)
    )


def check_stage(student: torch.nn.Module, teacher: torch.nn.Module, target: str) -> None:
    """One line if the student's side cannot be compared with the teacher's, or if
    :func:`teacher_frontend` does not give this teacher's layer 0 (checked on 1 s of noise)."""
    if target == "cnn":
        mine = int(student.frontend.feature_extractor.output_dim)
        theirs = int(list(getattr(teacher.config, "conv_dim", [0]))[-1])
        if mine != theirs:
            raise ConfigError(
                f"frontend_stage.target: cnn needs the student's front-end width ({mine}) to be"
                f" the teacher's CNN width ({theirs}); use layer0, or student.scale_to_teacher"
            )
        return
    if int(student.config.hidden_size) != int(teacher.hidden_size):
        raise ConfigError(
            f"frontend_stage.target: layer0 needs the student's width ({student.config.hidden_size})"
            f" to be the teacher's ({teacher.hidden_size})"
        )
    probe = 0.1 * torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))
    device = next(teacher.parameters()).device
    probe = probe.to(device)
    alone = teacher_frontend(teacher, probe, "layer0")
    full = teacher(probe).hidden_states[0]
    if alone.shape != full.shape or not torch.allclose(alone, full, rtol=1e-4, atol=1e-4):
        raise TeacherError(
            f"frontend_stage: teacher {getattr(teacher, 'name', '')!r} computes its layer 0 in a"
            " way the stage does not know; use frontend_stage.target=cnn"
        )


def stage_state(content: dict[str, Any]) -> dict[str, Tensor]:
    """The student's weights in a checkpoint of either stage."""
    prefix = "student."
    return {k[len(prefix) :]: v for k, v in content["state_dict"].items() if k.startswith(prefix)}


class FrontendStageModule(DistillationModule):
    """The stage's LightningModule: the main module's seeding, NaN handling and
    checkpoint content, with the front-end's loss and optimiser. The student's other
    parameters are frozen from construction until :meth:`release`."""

    def __init__(
        self,
        student: torch.nn.Module,
        teacher: torch.nn.Module,
        cfg: DistillConfig,
        teacher_cache: TeacherCache | None = None,
    ):
        super().__init__(student, teacher, cfg, teacher_cache)
        self.stage = cfg.frontend_stage
        self.loss_fn = DistillationLoss(self.stage.loss.cos_weight, self.stage.loss.distance)
        self.cached_layer0 = (
            teacher_cache is not None
            and self.stage.target == "layer0"
            and 0 in teacher_cache.layers
        )
        if teacher_cache is not None and not self.cached_layer0:
            log.info("front-end stage: its targets are not in the teacher cache; the teacher's"
                     " front-end computes them")  # fmt: skip
        trained = trained_prefixes(self.stage.target, self.stage.trainable)
        # frozen before the strategy sets up (DDP registers the parameters that need grads)
        self._frozen = [
            p
            for n, p in student.named_parameters()
            if p.requires_grad and not n.startswith(trained)
        ]
        for p in self._frozen:
            p.requires_grad_(False)
        self._was_training = student.training

    def release(self) -> None:
        """Unfreeze what the stage froze, drop its gradients and restore the train/eval
        mode (Lightning keeps whatever mode a fit ends in): the student as before."""
        for p in self._frozen:
            p.requires_grad_(True)
        self._frozen = []
        for p in self.student.parameters():
            p.grad = None
        self.student.train(self._was_training)

    def configure_optimizers(self) -> dict[str, Any]:
        o, s = self.cfg.optim, self.stage
        return build_optimizer(
            self.student.parameters(),  # the trainable ones: the others are frozen
            lr=s.lr,
            betas=o.betas,
            eps=o.eps,
            weight_decay=o.weight_decay,
            warmup_ratio=s.warmup_ratio,
            total_steps=s.steps,
        )

    def on_train_start(self) -> None:
        # A regression onto deterministic targets: no dropout on the prediction (the
        # front-end has no batch statistics, so eval mode changes nothing else).
        self.student.eval()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        waves = batch["waveforms"]
        target = self._target(waves)
        front = self.student.frontend
        pred = front.features(waves) if self.stage.target == "cnn" else front(waves, None)[0]
        preds, targets = self._align([pred], [target])
        loss = self.loss_fn(preds, targets)
        if self._skip_nonfinite(loss.total):
            return None
        self.nonfinite_in_row = 0
        self.log("loss", loss.total.detach(), prog_bar=True)
        self.log("audio_s/s", self._update_throughput(batch["seconds"]), prog_bar=True)
        name = f"{self.stage.loss.distance}_{self.stage.target}"
        self.log(f"stage/{name}", loss.distance[0])
        self.log(f"stage/cos_{self.stage.target}", loss.cos[0])
        return loss.total

    def _target(self, waves: Tensor) -> Tensor:
        if self.cached_layer0:
            cached = self.teacher_cache.get(waves)
            if cached is not None:
                self.cache_hits += 1
                return cached[0].to(self.device, non_blocking=True)
            self.cache_misses += 1
        with teacher_precision(self.cfg, waves.device.type):
            return teacher_frontend(self.teacher, waves.float(), self.stage.target)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint[CHECKPOINT_KEY]["stage"] = STAGE
