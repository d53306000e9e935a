import math

import pytest
import torch
import torch.nn.functional as F

from gendistiller.loss import DistillationLoss, depth_weights


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


def test_depth_weights_grow_with_depth_and_average_one():
    assert depth_weights([4, 8, 12], 0.0) is None  # the paper's plain sum
    assert depth_weights([4, 8, 12], 1.0) == pytest.approx([0.5, 1.0, 1.5])
    for exponent in (0.5, 1.0, 2.0, 3.5):
        weights = depth_weights([1, 3, 4, 9], exponent)
        assert sum(weights) / len(weights) == pytest.approx(1.0)
        assert weights == sorted(weights) and len(set(weights)) == 4
    assert depth_weights([6], 2.0) == [1.0]  # one target: nothing to weigh


def test_layer_weights_weigh_each_layers_term():
    torch.manual_seed(0)
    preds = [torch.randn(2, 5, 4) for _ in range(3)]
    targets = [torch.randn(2, 5, 4) for _ in range(3)]
    plain = DistillationLoss()
    terms = [plain([p], [t]).total for p, t in zip(preds, targets, strict=True)]
    weighted = DistillationLoss(layer_weights=[0.5, 1.0, 1.5])(preds, targets)
    torch.testing.assert_close(weighted.total, 0.5 * terms[0] + terms[1] + 1.5 * terms[2])
    # the per-layer metrics stay unweighted
    torch.testing.assert_close(weighted.distance, plain(preds, targets).distance)
    # equal weights of one: the same loss as the plain sum (the paper's), to rounding
    torch.testing.assert_close(
        DistillationLoss(layer_weights=[1.0] * 3)(preds, targets).total, plain(preds, targets).total
    )
    assert "layer_weights=[0.5, 1.0, 1.5]" in repr(DistillationLoss(layer_weights=[0.5, 1.0, 1.5]))
    with pytest.raises(ValueError, match="2 layer weights for 3 layers"):
        DistillationLoss(layer_weights=[1.0, 1.0])(preds, targets)
    with pytest.raises(ValueError, match=">= 0"):
        DistillationLoss(layer_weights=[1.0, -1.0])
