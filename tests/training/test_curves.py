"""Loss curves: the per-step log survives a kill and a resume; the convergence rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gendistiller.errors import GenDistillerError
from gendistiller.training.config import load_config
from gendistiller.training.curves import LOSS_LOG, is_converged, loss_curve, tail_improvement
from gendistiller.training.run import train


def test_flat_curve_converges_and_a_falling_one_does_not():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 1001)
    # per-batch noise of 2% of the loss: the fitted improvement's sd is 0.02 * sqrt(12 / 200)
    noise = 0.02 * rng.standard_normal(len(steps))
    flat = 1.0 + 2.0 * np.exp(-steps / 60) + noise  # settled long before the last fifth
    falling = 3.0 - 0.002 * steps + noise  # 0.4 of 1.4: about 29% over the last fifth
    assert abs(tail_improvement(flat)) < 0.015 and is_converged(flat)
    assert tail_improvement(falling) == pytest.approx(0.4 / 1.4 * 199 / 200, abs=0.02)
    assert not is_converged(falling)
    # noise-free: the fitted line is the line itself
    assert tail_improvement([10, 9, 8, 7, 6], tail=1.0) == pytest.approx(0.4)
    assert tail_improvement([1, 1, 1, 10, 9, 8], tail=0.5) == pytest.approx(0.2)
    assert tail_improvement([5.0, 5.5, 6.0], tail=1.0) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="at least 2"):
        tail_improvement([1.0])


def test_the_loss_log_has_every_step_once_after_a_kill_and_a_resume(tiny_args, tmp_path, kill_at):
    def cfg(name):
        return load_config(
            "tiny",
            tiny_args("trainer.max_steps=6", "checkpoint.every_n_steps=2", run_dir=tmp_path / name),
        )

    reference = train(cfg("a"))
    steps, losses = loss_curve(reference.run_dir)
    assert steps == [1, 2, 3, 4, 5, 6] and all(np.isfinite(losses))

    killed = cfg("b")
    with pytest.raises(kill_at.error):
        train(killed, callbacks=[kill_at(3)])  # after the checkpoint at step 2
    log = killed.run_dir / LOSS_LOG
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3]
    with open(log, "a") as fh:
        fh.write('{"step": 4, "lo')  # a line torn by the kill
    assert loss_curve(killed.run_dir)[0] == [1, 2, 3]
    train(killed)  # resumes at step 2: steps 3.. are trained (and logged) again
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [row["step"] for row in lines] == [1, 2, 3, 4, 5, 6]
    assert loss_curve(killed.run_dir) == (steps, losses)

    with pytest.raises(GenDistillerError, match="no loss log"):
        loss_curve(tmp_path)
