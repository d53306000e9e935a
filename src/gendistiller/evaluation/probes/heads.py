"""The learnable parts of a probe: SUPERB's weighted sum of hidden states and small heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gendistiller.evaluation.probes.task import CLASSIFY, Recipe

CONV_BLOCKS = 2
CONV_KERNEL = 9


class WeightedSum(nn.Module):
    """``sum_l softmax(w)_l * state_l`` with ``w`` initialised to zeros (a plain average),
    as SUPERB's featurizer: after training, ``distribution()`` says which layers a task uses."""

    def __init__(self, num_states: int):
        super().__init__()
        if num_states < 1:
            raise ValueError("need at least one hidden state")
        self.weights = nn.Parameter(torch.zeros(num_states))

    def distribution(self) -> Tensor:
        return F.softmax(self.weights, dim=-1)

    def forward(self, states: Tensor) -> Tensor:
        """``[..., L, D]`` -> ``[..., D]``."""
        if states.shape[-2] != self.weights.shape[0]:
            raise ValueError(f"expected {self.weights.shape[0]} states, got {states.shape[-2]}")
        return torch.einsum("...ld,l->...d", states, self.distribution().to(states.dtype))


class CTCHead(nn.Module):
    """Frame-wise token log-probabilities: a linear layer (``linear``, SUPERB's PR head),
    or a projection to ``hidden``, ``CONV_BLOCKS`` residual depthwise-separable
    convolutions (kernel 9: about ±160 ms of context in all) and a linear layer
    (``conv``). The convolutions stand in for SUPERB's 2 x 1024 BiLSTM ASR head, whose
    backward pass alone took over a second per batch on one CPU core."""

    def __init__(self, input_dim: int, vocab_size: int, kind: str, hidden: int):
        super().__init__()
        self.kind = kind
        if kind == "linear":
            self.out = nn.Linear(input_dim, vocab_size)
        elif kind == "conv":
            self.proj = nn.Linear(input_dim, hidden)
            self.blocks = nn.ModuleList(
                nn.Sequential(
                    nn.Conv1d(hidden, hidden, CONV_KERNEL, padding=CONV_KERNEL // 2, groups=hidden),
                    nn.Conv1d(hidden, hidden, 1),
                    nn.GELU(),
                )
                for _ in range(CONV_BLOCKS)
            )
            self.out = nn.Linear(hidden, vocab_size)
        else:
            raise ValueError(f"unknown CTC head {kind!r}")

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.kind == "conv":
            # Padding is zeroed before every convolution, so a batch gives each utterance
            # what it gets alone.
            mask = (
                torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None].to(x.device)
            )[:, None, :]
            h = self.proj(x).transpose(1, 2)
            for block in self.blocks:
                h = h + block(h * mask)
            x = h.transpose(1, 2)
        return F.log_softmax(self.out(x), dim=-1)


class PooledClassifier(nn.Module):
    """SUPERB's utterance heads: linear projection, mean over valid frames, linear layer
    per label slot. Projection and mean commute, so this takes the mean first: ``[B, D]``."""

    def __init__(self, input_dim: int, slot_sizes: list[int], hidden: int):
        super().__init__()
        self.proj = nn.Linear(input_dim, hidden)
        self.slots = nn.ModuleList(nn.Linear(hidden, n) for n in slot_sizes)

    def forward(self, pooled: Tensor) -> list[Tensor]:
        h = self.proj(pooled)
        return [slot(h) for slot in self.slots]


class Probe(nn.Module):
    """Weighted sum + head. ``outputs``: the CTC vocabulary size, or the class count per slot."""

    def __init__(
        self, kind: str, recipe: Recipe, num_states: int, hidden_size: int, outputs: list[int]
    ):
        super().__init__()
        self.featurizer = WeightedSum(num_states)
        if kind == CLASSIFY:
            self.head: nn.Module = PooledClassifier(hidden_size, outputs, recipe.head_dim)
        else:
            self.head = CTCHead(hidden_size, outputs[0], recipe.head, recipe.head_dim)

    def forward(self, states: Tensor, lengths: Tensor | None = None):
        x = self.featurizer(states)
        return self.head(x) if lengths is None else self.head(x, lengths)
