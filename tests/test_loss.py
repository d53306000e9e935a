import math

import pytest
import torch
import torch.nn.functional as F

from gendistiller.loss import DistillationLoss


def test_matches_the_formula_on_valid_frames():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    out = DistillationLoss()([pred], [target], mask)
    valid_p, valid_t = pred[mask], target[mask]
    l1 = (valid_p - valid_t).abs().mean()
    cos = F.cosine_similarity(valid_p, valid_t, dim=-1)
    expected = l1 - F.logsigmoid(cos).mean()
    torch.testing.assert_close(out.total, expected)
    torch.testing.assert_close(out.distance[0], l1)
    torch.testing.assert_close(out.cos[0], cos.mean())


def test_padding_does_not_count():
    pred = torch.zeros(1, 4, 3)
    target = torch.zeros(1, 4, 3)
    target[0, 2:] = 1000.0  # garbage in padded frames
    mask = torch.tensor([[True, True, False, False]])
    assert DistillationLoss(cos_weight=0.0)([pred], [target], mask).total.item() == 0.0


def test_perfect_prediction_and_l2_option():
    x = torch.randn(2, 3, 8)
    out = DistillationLoss(distance="l2")([x, x], [x, x])
    assert out.distance.tolist() == [0.0, 0.0]
    torch.testing.assert_close(out.total, torch.tensor(2 * -math.log(1 / (1 + math.exp(-1)))))


def test_sums_layers_and_repr():
    loss = DistillationLoss(cos_weight=0.5)
    assert "cos_weight=0.5" in repr(loss) and "l1" in repr(loss)
    a, b = torch.randn(1, 3, 4), torch.randn(1, 3, 4)
    torch.testing.assert_close(loss([a, b], [b, a]).total, 2 * loss([a], [b]).total)
    with pytest.raises(ValueError):
        DistillationLoss(distance="huber")
