"""Merged frames inside the transformer: a fresh map averages and repeats."""

import torch

from gendistiller.encoders import lengths_to_mask
from gendistiller.students import build_student


def test_a_fresh_student_merges_by_the_mean_and_unfolds_by_repetition():
    student = build_student("gendistiller-fast-tiny", transformer_stride=3)
    rate = student.frame_rate
    x = torch.randn(2, 7, 32)
    frames = torch.tensor([7, 4])
    mask = lengths_to_mask(frames, 7)
    merged, merged_mask = rate.down(x, frames, mask)
    assert merged.shape == (2, 3, 32) and merged_mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    padded = torch.cat([x * mask[..., None], torch.zeros(2, 2, 32)], dim=1)
    means = padded.reshape(2, 3, 3, 32).mean(2)
    torch.testing.assert_close(merged, means)
    torch.testing.assert_close(rate.pool(x, mask), means)
    torch.testing.assert_close(rate.up(merged, 7), means.repeat_interleave(3, dim=1)[:, :7])


def test_the_unfolding_is_learned():
    student = build_student("gendistiller-fast-tiny").train()
    out = student(torch.randn(2, 8000) * 0.1)
    # Against targets that differ frame by frame, as a teacher's do: a fresh student
    # repeats each state, so only such targets pull its two frames apart.
    sum((h - torch.randn_like(h)).pow(2).mean() for h in out.predictions).backward()
    rate = student.frame_rate
    assert rate.up_weight.grad.abs().sum() > 0 and rate.down_weight.grad.abs().sum() > 0


def test_each_state_is_the_mean_of_the_frames_it_unfolds_into():
    student = build_student("gendistiller-fast-tiny", transformer_stride=3)
    rate = student.frame_rate
    with torch.no_grad():
        for p in (rate.up_weight, rate.up_bias):
            p.normal_()
    h = torch.randn(2, 4, 32)
    frames = rate.up(h, 12)
    torch.testing.assert_close(frames.reshape(2, 4, 3, 32).mean(2), h)
    assert not torch.allclose(frames[:, 0], frames[:, 1])  # yet the frames differ
    assert rate.up(h, 11).shape == (2, 11, 32)
