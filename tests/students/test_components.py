import torch

from gendistiller.encoders import FrameGeometry
from gendistiller.students.components import MaskedGroupNorm, lengths_to_mask, scale_grad


def test_lengths_to_mask():
    mask = lengths_to_mask(torch.tensor([3, 1]), 4)
    assert mask.tolist() == [[True, True, True, False], [True, False, False, False]]


def test_conv_output_lengths_standard_encoder():
    kernels, strides = (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)
    n = torch.tensor([400, 16000, 160000, 12345])
    expected = torch.div(n - 400, 320, rounding_mode="floor") + 1
    assert FrameGeometry(kernels, strides).output_lengths(n).tolist() == expected.tolist()


def test_masked_group_norm_ignores_padding():
    norm = MaskedGroupNorm(4, 4)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
    x = torch.randn(1, 4, 10)
    padded = torch.cat([x, 100 * torch.randn(1, 4, 5)], dim=-1)
    mask = lengths_to_mask(torch.tensor([10]), 15)
    torch.testing.assert_close(norm(padded, mask)[..., :10], norm(x), rtol=1e-5, atol=1e-5)
    # Without the mask the padding does shift the statistics: the test above is meaningful.
    assert not torch.allclose(norm(padded)[..., :10], norm(x), atol=1e-3)


def test_masked_group_norm_is_each_utterances_group_norm_in_training_and_inference():
    torch.manual_seed(0)
    norm = MaskedGroupNorm(3, 3)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
    lengths = [12, 7]
    x = torch.randn(2, 3, 12, requires_grad=True)
    mask = lengths_to_mask(torch.tensor(lengths), 12)
    out = norm(x, mask)  # with autograd: out of place
    with torch.no_grad():
        torch.testing.assert_close(norm(x, mask), out.detach())  # in place, the same
    for b, n in enumerate(lengths):
        alone = torch.nn.functional.group_norm(
            x[b : b + 1, :, :n], 3, norm.weight, norm.bias, norm.eps
        )
        torch.testing.assert_close(out[b : b + 1, :, :n], alone, rtol=1e-5, atol=1e-5)
    # a loss on the valid frames only (random weights: a plain sum of normalised values is 0)
    (out * mask[:, None, :] * torch.randn(2, 3, 12)).sum().backward()
    assert x.grad[1, :, 7:].abs().max() == 0  # padding never reaches a valid frame
    assert x.grad[:, :, :7].abs().min() > 1e-4


def test_scale_grad():
    x = torch.ones(3, requires_grad=True)
    scale_grad(x, 0.1).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), 0.1))
