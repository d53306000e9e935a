"""A progress bar counted in optimiser steps out of ``max_steps``.

The data stream is one endless epoch (see :mod:`gendistiller.data.sampler`), so
Lightning's per-epoch bar would have no total and would restart at 0 after a resume.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar


class StepProgressBar(TQDMProgressBar):
    def __init__(self, description: str = "distill", **kwargs: Any):
        super().__init__(**kwargs)
        self.description = description

    def on_train_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_start(trainer, *args)
        self._reset_bar(trainer)

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        self._reset_bar(trainer)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        bar = self.train_progress_bar
        n = trainer.global_step
        if bar is not None and n != bar.n and self._should_update(n, bar.total):
            bar.update(n - bar.n)  # tqdm's own API; a no-op on a disabled bar
            bar.set_postfix(self.get_metrics(trainer, pl_module))

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics

    def _reset_bar(self, trainer: L.Trainer) -> None:
        bar = self.train_progress_bar
        bar.reset(total=trainer.max_steps)
        bar.initial = 0
        bar.n = trainer.global_step
        bar.set_description(self.description)
        bar.refresh()
