"""Teacher forcing's schedule (a function of the step alone) and its noisy history."""

import pytest
import torch

from gendistiller.students.teacher_forcing import next_input, ratio_at


@pytest.mark.parametrize("schedule", ["linear", "inverse_sigmoid"])
@pytest.mark.parametrize(("start", "end"), [(1.0, 0.0), (0.5, 0.0), (0.2, 0.8)])
def test_schedules_run_from_start_to_end_monotonically(schedule, start, end):
    total = 101
    ratios = [ratio_at(start, end, schedule, step, total) for step in range(total)]
    assert ratios[0] == pytest.approx(start, abs=1e-12)
    assert ratios[-1] == pytest.approx(end, abs=1e-12)
    steps = [b - a for a, b in zip(ratios, ratios[1:], strict=False)]
    assert all(s * (end - start) >= 0 for s in steps)  # never back
    assert ratios[50] == pytest.approx((start + end) / 2)  # both symmetric about the middle
    if schedule == "inverse_sigmoid":  # flat at the ends, steep in the middle
        assert abs(steps[0]) < abs(steps[50]) / 5


def test_linear_steps_evenly_and_constant_stays():
    assert [ratio_at(0.5, 0.0, "linear", s, 6) for s in range(6)] == pytest.approx(
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    )
    assert {ratio_at(0.5, 0.0, "constant", s, 6) for s in range(6)} == {0.5}
    assert ratio_at(0.5, 0.0, "linear", 0, 1) == 0.5  # a one-step run stays at the start
    with pytest.raises(ValueError, match="cosine"):
        ratio_at(0.5, 0.0, "cosine", 0, 10)


def test_the_ratio_depends_on_the_step_only():
    # what an exact resume needs: no state, the same value however often it is asked
    first = [ratio_at(1.0, 0.0, "inverse_sigmoid", s, 40) for s in range(40)]
    again = [ratio_at(1.0, 0.0, "inverse_sigmoid", s, 40) for s in reversed(range(40))]
    assert first == list(reversed(again))


def test_without_teacher_or_ratio_the_history_is_the_students():
    h, t = torch.randn(4, 5, 8), torch.randn(4, 5, 8)
    assert next_input(h, None, 1.0, 0.3) is h
    assert next_input(h, t, 0.0, 0.3) is h
    assert torch.equal(next_input(h, t, 1.0, 0.0), t)


def test_noise_keeps_the_forced_utterances_and_scales_with_each_frames_rms():
    h = torch.zeros(64, 50, 16)
    t = torch.randn(64, 50, 16) * torch.linspace(0.1, 10, 50)[None, :, None]
    torch.manual_seed(0)
    clean = next_input(h, t, 0.5, 0.0)
    torch.manual_seed(0)
    noisy = next_input(h, t, 0.5, 0.25)
    forced = clean.abs().sum(dim=(1, 2)) > 0
    assert 0 < forced.sum() < 64  # some utterances each way
    assert torch.equal(noisy.abs().sum(dim=(1, 2)) > 0, forced)  # the same draws
    assert not noisy[~forced].any()  # the student's own history gets no noise
    rms = t.pow(2).mean(dim=-1, keepdim=True).sqrt()
    relative = ((noisy - t) / rms)[forced]
    assert relative.std().item() == pytest.approx(0.25, rel=0.05)
