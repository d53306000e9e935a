"""Metrics (in percent) and CTC decoding for the probes.

Error rates are corpus-level, as in SUPERB: total edits over total reference tokens,
computed by jiwer. A phone error rate is jiwer's word error rate over space-joined
phone sequences; the character error rate counts spaces as characters.
"""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
import torch
from torch import Tensor

BLANK = "<blank>"


def token_error_rate(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> float:
    """Edit distance between token sequences over reference tokens, in percent (PER)."""
    _same_count(refs, hyps)
    if not refs:
        return 0.0
    for seq in (*refs, *hyps):
        for token in seq:
            if not token or any(c.isspace() for c in token):
                raise ValueError(f"tokens must be non-empty and without spaces, got {token!r}")
    return 100.0 * jiwer.wer([" ".join(r) for r in refs], [" ".join(h) for h in hyps])


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """WER in percent over whitespace-separated words."""
    _same_count(refs, hyps)
    return 100.0 * jiwer.wer(list(refs), list(hyps)) if refs else 0.0


def char_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """CER in percent (spaces count as characters)."""
    _same_count(refs, hyps)
    return 100.0 * jiwer.cer(list(refs), list(hyps)) if refs else 0.0


def accuracy(refs: Sequence[object], hyps: Sequence[object]) -> float:
    """Percent of exact matches (for multi-slot labels: every slot right)."""
    _same_count(refs, hyps)
    return 100.0 * sum(r == h for r, h in zip(refs, hyps, strict=True)) / len(refs) if refs else 0.0


class Vocabulary:
    """Token <-> id for CTC; id 0 is the blank."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = [BLANK, *sorted(set(tokens) - {BLANK})]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, seq: Sequence[str]) -> list[int]:
        """Ids of ``seq``; tokens never seen in training are dropped (they cannot be learnt)."""
        return [self.index[t] for t in seq if t in self.index]

    def decode(self, ids: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.tokens[i] for i in ids if i != 0)


def ctc_greedy(log_probs: Tensor, lengths: Tensor) -> list[list[int]]:
    """Best path: argmax per frame, repeats merged, blanks (id 0) removed."""
    best = log_probs.argmax(dim=-1).cpu()
    out = []
    for path, n in zip(best, lengths.cpu().tolist(), strict=True):
        ids = torch.unique_consecutive(path[: int(n)]).tolist()
        out.append([i for i in ids if i != 0])
    return out


def _same_count(refs: Sequence, hyps: Sequence) -> None:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
