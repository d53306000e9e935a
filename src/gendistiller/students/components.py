"""Building blocks shared by both students (the front-ends are assembled in :mod:`.frontend`).

Parameter names follow transformers' HuBERT/WavLM modules (``conv_layers.0.layer_norm``,
``attention.q_proj``, ``feed_forward.intermediate_dense``, ...) so that weights copy
between teachers, students and exported ``HubertModel`` checkpoints by renaming module
prefixes only (see :mod:`gendistiller.students.weights`).

Every block is padding-aware: an utterance gives the same valid frames whether it is run
alone or in a batch with longer ones. The group norm of the first convolution takes its
statistics over valid samples only, padded frames are zeroed before the positional
convolution (matching the zero padding at a sequence's true end), and attention never
looks at padded keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers.activations import ACT2FN

from gendistiller.encoders.geometry import FrameGeometry, lengths_to_mask


class _GradScale(torch.autograd.Function):
    """Identity forward, gradient times ``scale`` backward (DistilHuBERT's feature_grad_mult)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    if scale == 1.0 or not x.requires_grad:
        return x
    return _GradScale.apply(x, scale)


class MaskedGroupNorm(nn.GroupNorm):
    """Per-channel normalisation over time (``GroupNorm(C, C)``) with statistics taken
    over valid frames only, so padding cannot shift an utterance's features."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        if mask is None:
            if x.shape[-1] > 1:
                return super().forward(x)
            # torch's group norm refuses one step; the masked formula gives its zero variance.
            mask = torch.ones(x.shape[0], x.shape[-1], dtype=torch.bool, device=x.device)
        if self.num_groups != self.num_channels:
            raise NotImplementedError("masked group norm supports one group per channel")
        # Sums over valid frames as batched products with the mask, and the affine folded
        # into one scale: a third of the passes over [B, C, T] (the first conv layer's
        # output, the largest tensor of a padded batch), so 3x faster on CPU.
        m = mask.to(x.dtype)[:, :, None]
        count = m.sum(dim=1, keepdim=True).clamp(min=1.0)
        centred = x - torch.bmm(x, m) / count
        var = torch.bmm(centred.square(), m) / count
        scale = torch.rsqrt(var + self.eps) * self.weight[None, :, None]
        if torch.is_grad_enabled() and (centred.requires_grad or scale.requires_grad):
            return torch.addcmul(self.bias[None, :, None], centred, scale)
        return centred.mul_(scale).add_(self.bias[None, :, None])  # inference: in place


class ConvLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, bias: bool, norm: bool):
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel_size=kernel, stride=stride, bias=bias)
        self.geometry = FrameGeometry((kernel,), (stride,))
        self.layer_norm = MaskedGroupNorm(out_ch, out_ch, affine=True) if norm else None

    def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        x = self.conv(x)
        if self.layer_norm is not None:
            mask = None
            if lengths is not None:
                valid = self.geometry.output_lengths(lengths)
                mask = lengths_to_mask(valid, x.shape[-1])
            x = self.layer_norm(x, mask)
        return F.gelu(x)


class ConvFeatureExtractor(nn.Module):
    """wav2vec 2.0 / HuBERT waveform encoder in "group" mode (group norm on the first layer)."""

    def __init__(
        self,
        conv_dim: Sequence[int],
        conv_kernel: Sequence[int],
        conv_stride: Sequence[int],
        conv_bias: bool = False,
    ):
        super().__init__()
        self.geometry = FrameGeometry(tuple(conv_kernel), tuple(conv_stride))
        self.output_dim = int(conv_dim[-1])
        dims = [1, *conv_dim]
        self.conv_layers = nn.ModuleList(
            ConvLayer(
                dims[i], dims[i + 1], conv_kernel[i], conv_stride[i], conv_bias, norm=(i == 0)
            )
            for i in range(len(conv_dim))
        )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return self.geometry.output_lengths(lengths)

    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``[B, N]`` samples -> ``[B, C, T]`` features."""
        x = waveforms[:, None, :]
        for layer in self.conv_layers:
            x = layer(x, lengths)
        return x


class FeatureProjection(nn.Module):
    def __init__(self, in_dim: int, hidden_size: int, layer_norm: bool, dropout: float, eps: float):
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_dim, eps=eps) if layer_norm else None
        self.projection = nn.Linear(in_dim, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return self.dropout(self.projection(x))


class PositionalConvEmbedding(nn.Module):
    """Grouped convolution over time with weight norm (wav2vec 2.0's relative positions)."""

    def __init__(self, hidden_size: int, kernel: int, groups: int):
        super().__init__()
        conv = nn.Conv1d(
            hidden_size, hidden_size, kernel_size=kernel, padding=kernel // 2, groups=groups
        )
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x.transpose(1, 2))
        if self.trim:
            y = y[:, :, : -self.trim]
        return F.gelu(y).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head attention; queries from ``x``, keys/values from ``memory`` (default ``x``)."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(
                f"hidden_size {hidden_size} is not divisible by num_attention_heads {num_heads}"
            )
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(hidden_size, hidden_size)
        self.k_proj = nn.Linear(hidden_size, hidden_size)
        self.v_proj = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, hidden_size)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, x: Tensor, memory: Tensor | None = None, key_mask: Tensor | None = None
    ) -> Tensor:
        memory = x if memory is None else memory
        q, k, v = (
            self._heads(self.q_proj(x)),
            self._heads(self.k_proj(memory)),
            self._heads(self.v_proj(memory)),
        )
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        b, _, t, _ = y.shape
        return self.out_proj(y.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    def __init__(
        self, hidden_size: int, intermediate_size: int, act: str, act_dropout: float, dropout: float
    ):
        super().__init__()
        self.intermediate_dropout = nn.Dropout(act_dropout)
        self.intermediate_dense = nn.Linear(hidden_size, intermediate_size)
        self.act = ACT2FN[act]  # as in transformers' HuBERT, so an export computes the same
        self.output_dense = nn.Linear(intermediate_size, hidden_size)
        self.output_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.intermediate_dropout(self.act(self.intermediate_dense(x)))
        return self.output_dropout(self.output_dense(x))


class TransformerLayer(nn.Module):
    """Post-LN transformer layer, as in HuBERT Base / WavLM Base (``do_stable_layer_norm=False``)."""

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        intermediate_size: int,
        act: str = "gelu",
        dropout: float = 0.1,
        attention_dropout: float = 0.1,
        activation_dropout: float = 0.1,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.attention = SelfAttention(hidden_size, num_heads, attention_dropout)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.feed_forward = FeedForward(
            hidden_size, intermediate_size, act, activation_dropout, dropout
        )
        self.final_layer_norm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(
        self, x: Tensor, key_mask: Tensor | None = None, memory: Tensor | None = None
    ) -> Tensor:
        x = self.layer_norm(x + self.dropout(self.attention(x, memory, key_mask)))
        return self.final_layer_norm(x + self.feed_forward(x))
