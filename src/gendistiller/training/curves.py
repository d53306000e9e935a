"""The loss of every optimiser step on disk, and when a loss curve has flattened.

The CSV and TensorBoard loggers keep one value every ``log_every_n_steps`` and flush in
batches (a kill loses the last ones). :class:`LossLog` writes ``loss.jsonl`` in the run
folder: one line ``{"step": S, "loss": L}`` per optimiser step (``S`` counts the steps
done, 1 .. max_steps; ``L`` is the mean loss of the step's batches), flushed line by line,
so a kill loses at most the line being written. A resumed run first rewrites the file
without the steps after its checkpoint (they are trained again), so the log never holds a
step twice; :func:`loss_curve` also skips a torn last line and keeps the last value of a
step, whatever wrote the file. Steps skipped for a NaN/inf loss have no line.

Convergence (the reproduction's rule: the last fifth of training improves the loss by less
than 2%): :func:`tail_improvement` fits a straight line (least squares) to the losses of
the last ``tail`` share of the steps and returns the line's fall across that window
relative to its value at the window's start. The fit is the smoothing: every step counts,
so one noisy batch moves it little, and unlike a moving average it has no lag at the end.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import lightning as L
import numpy as np

from gendistiller.errors import GenDistillerError
from gendistiller.io import write_text

LOSS_LOG = "loss.jsonl"
CONVERGED_BELOW = 0.02  # tail improvement under which a run counts as converged
TAIL = 0.2


class LossLog(L.Callback):
    """Appends the loss of every optimiser step to ``path`` (on rank 0)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._sum = 0.0
        self._batches = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        done = trainer.global_step  # the resumed step: later lines are trained again
        kept = [f"{json.dumps({'step': s, 'loss': v})}\n" for s, v in _read(self.path) if s <= done]
        write_text(self.path, "".join(kept))
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed at the end
        self._sum, self._batches = 0.0, 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, *args: Any
    ) -> None:
        if self._file is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:  # a skipped NaN/inf step
            self._sum, self._batches = 0.0, 0
            return
        # Lightning hands over the loss divided by accumulate_grad_batches: sum = the mean
        self._sum += float(loss)
        self._batches += 1
        if self._batches == trainer.accumulate_grad_batches:
            self._file.write(json.dumps({"step": trainer.global_step, "loss": self._sum}) + "\n")
            self._file.flush()
            self._sum, self._batches = 0.0, 0

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, err: Any) -> None:
        self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def loss_curve(run_dir: str | Path) -> tuple[list[int], list[float]]:
    """``(steps, losses)`` of a run folder, in step order, from its ``loss.jsonl``."""
    path = Path(run_dir) / LOSS_LOG
    if not path.is_file():
        raise GenDistillerError(f"{path}: no loss log (is {run_dir} a distillation run folder?)")
    curve = dict(_read(path))
    steps = sorted(curve)
    return steps, [curve[s] for s in steps]


def tail_improvement(losses: Sequence[float], tail: float = TAIL) -> float:
    """Relative fall of the loss over the last ``tail`` of training, smoothed by a
    least-squares line (see the module docstring): 0.05 = the line fell 5% across the
    window; negative: it rose. Needs at least 2 losses in the window."""
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    values = np.asarray(losses, dtype=np.float64)
    window = values[len(values) - max(2, math.ceil(tail * len(values))) :]
    if len(window) < 2 or not np.isfinite(window).all():
        raise ValueError(f"need at least 2 finite losses in the last {tail:.0%}, got {window}")
    x = np.arange(len(window), dtype=np.float64)
    slope, start = np.polyfit(x, window, 1)
    if start <= 0:
        raise ValueError(f"the fitted loss at the window's start is {start:.3g}, not positive")
    return float(-slope * x[-1] / start)


def is_converged(losses: Sequence[float], tail: float = TAIL) -> bool:
    """The reproduction's rule: the last fifth improves the loss by less than 2%."""
    return tail_improvement(losses, tail) < CONVERGED_BELOW


def _read(path: Path) -> list[tuple[int, float]]:
    """The (step, loss) lines of a loss log; a torn or foreign line is skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            rows.append((int(row["step"]), float(row["loss"])))
        except (ValueError, KeyError, TypeError):
            continue
    return rows
