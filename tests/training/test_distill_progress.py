"""The progress bar counts optimiser steps out of max_steps, also after a resume."""

from __future__ import annotations

from types import SimpleNamespace

from gendistiller.training.progress import StepProgressBar


def test_bar_counts_global_steps_out_of_max_steps(monkeypatch):
    bar = StepProgressBar(description="distill")
    monkeypatch.setattr(bar, "get_metrics", lambda trainer, module: {"loss": 1.0})
    bar.train_progress_bar = bar.init_train_tqdm()
    trainer = SimpleNamespace(max_steps=10, global_step=4)  # resumed at step 4
    bar.on_train_epoch_start(trainer, None)
    assert (bar.train_progress_bar.total, bar.train_progress_bar.n) == (10, 4)
    trainer.global_step = 7
    bar.on_train_batch_end(trainer, None)
    assert bar.train_progress_bar.n == 7 and bar.train_progress_bar.desc.startswith("distill")
    assert "7/10" in str(bar.train_progress_bar) and "loss=1" in str(bar.train_progress_bar)
