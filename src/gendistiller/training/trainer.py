"""The Lightning trainer of one stage of a run, and one fit of it.

Both stages of a run (the front-end stage, :mod:`.frontend_stage`, and the main
distillation) are fitted by a trainer from :func:`build_trainer`, each into its own
folder, and through :func:`fit`, which turns what Lightning raises into what the user
should read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from gendistiller.errors import ConfigError, GenDistillerError, one_line
from gendistiller.training.checkpoints import CKPT_DIR, AtomicCheckpointIO, PeriodicCheckpoint
from gendistiller.training.config import DistillConfig
from gendistiller.training.curves import LOSS_LOG, LossLog
from gendistiller.training.progress import StepProgressBar


def build_trainer(
    cfg: DistillConfig,
    run_dir: Path,
    callbacks: list[L.Callback],
    progress: bool,
    max_steps: int | None = None,
) -> L.Trainer:
    """The trainer of a stage whose checkpoints, logs and loss log go to ``run_dir``, for
    ``max_steps`` steps (default ``trainer.max_steps``)."""
    t = cfg.trainer
    checkpointing = PeriodicCheckpoint(
        run_dir / CKPT_DIR, cfg.checkpoint.every_n_steps, cfg.checkpoint.keep_last
    )
    bars = [StepProgressBar()] if progress else []
    try:
        return L.Trainer(
            accelerator=t.accelerator,
            devices=t.devices,
            num_nodes=t.num_nodes,
            strategy=t.strategy,
            precision=t.precision,
            max_steps=max_steps or t.max_steps,
            max_epochs=-1,
            accumulate_grad_batches=t.accumulate_grad_batches,
            gradient_clip_val=t.gradient_clip_val or None,
            gradient_clip_algorithm="norm",
            log_every_n_steps=t.log_every_n_steps,
            logger=[
                TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""),
                CSVLogger(save_dir=str(run_dir), name="csv"),
            ],
            callbacks=[checkpointing, LossLog(run_dir / LOSS_LOG), *bars, *callbacks],
            enable_checkpointing=False,  # PeriodicCheckpoint replaces ModelCheckpoint
            enable_progress_bar=progress,
            enable_model_summary=False,
            plugins=[AtomicCheckpointIO()],
            use_distributed_sampler=False,  # the batch sampler shards by rank itself
            num_sanity_val_steps=0,
            limit_val_batches=0,
            default_root_dir=str(run_dir),
        )
    except (MisconfigurationException, TypeError, ValueError) as err:
        # no such accelerator here, bad device list, unsupported precision, ...
        raise ConfigError(f"trainer: {one_line(err)}") from None


def fit(
    trainer: L.Trainer, module: L.LightningModule, data: L.LightningDataModule, ckpt: Any
) -> None:
    """``trainer.fit`` from checkpoint ``ckpt`` (None: from the start); a worker's error
    arrives as its one line, and an interrupted fit as a KeyboardInterrupt."""
    try:
        trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True)
    except GenDistillerError as err:
        raise _unwrap_worker_error(err) from None
    if trainer.interrupted:
        raise KeyboardInterrupt


def _unwrap_worker_error(err: GenDistillerError) -> GenDistillerError:
    """A DataLoader worker re-raises our error with its whole traceback as the message;
    keep the one line meant for the user."""
    text = str(err)
    if "Traceback" not in text:
        return err
    last = [line for line in text.splitlines() if line.strip()][-1]
    return type(err)(last.split(": ", 1)[-1] if last.startswith("gendistiller.") else last)
