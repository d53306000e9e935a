"""Metrics (in percent) and CTC decoding for the probes.

Error rates are corpus-level, as in SUPERB: total edits over total reference tokens,
from jiwer's alignment of each utterance. Every metric is built from per-item scores
(:data:`ItemScores`: a numerator and a denominator per utterance), which the paired
comparisons of :mod:`gendistiller.evaluation.statistics` resample. A phone error rate
is the word error rate over space-joined phone sequences; the character error rate
counts spaces as characters.
"""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
import torch
from torch import Tensor

BLANK = "<blank>"


#: Per-item scores: one numerator and one denominator per utterance; the corpus-level
#: metric is ``100 * sum(numerators) / sum(denominators)`` (``statistics.corpus_score``).
ItemScores = tuple[list[float], list[float]]


def token_edits(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> ItemScores:
    """Per utterance: edits (substitutions + deletions + insertions) against the reference
    token sequence, and the reference's length (phones for PER)."""
    _same_count(refs, hyps)
    for seq in (*refs, *hyps):
        for token in seq:
            if not token or any(c.isspace() for c in token):
                raise ValueError(f"tokens must be non-empty and without spaces, got {token!r}")
    return word_edits([" ".join(r) for r in refs], [" ".join(h) for h in hyps])


def word_edits(refs: Sequence[str], hyps: Sequence[str]) -> ItemScores:
    """Per utterance: word edits and reference words (jiwer's alignment)."""
    _same_count(refs, hyps)
    return _edits(jiwer.process_words(list(refs), list(hyps))) if refs else ([], [])


def char_edits(refs: Sequence[str], hyps: Sequence[str]) -> ItemScores:
    """Per utterance: character edits and reference characters (spaces count)."""
    _same_count(refs, hyps)
    return _edits(jiwer.process_characters(list(refs), list(hyps))) if refs else ([], [])


def exact_matches(refs: Sequence[object], hyps: Sequence[object]) -> ItemScores:
    """Per item: 1 if the hypothesis equals the reference (for multi-slot labels: every
    slot right), else 0; over 1."""
    _same_count(refs, hyps)
    return [float(r == h) for r, h in zip(refs, hyps, strict=True)], [1.0] * len(refs)


def rate(items: ItemScores) -> float:
    """The corpus-level metric in percent: ``100 * sum(numerators) / sum(denominators)``
    (0 for no items, as for no errors)."""
    num, den = sum(items[0]), sum(items[1])
    if not den:
        return 0.0 if not num else float("inf")
    return 100.0 * num / den


def token_error_rate(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> float:
    """Edit distance between token sequences over reference tokens, in percent (PER)."""
    return rate(token_edits(refs, hyps))


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """WER in percent over whitespace-separated words."""
    return rate(word_edits(refs, hyps))


def char_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """CER in percent (spaces count as characters)."""
    return rate(char_edits(refs, hyps))


def accuracy(refs: Sequence[object], hyps: Sequence[object]) -> float:
    """Percent of exact matches (for multi-slot labels: every slot right)."""
    return rate(exact_matches(refs, hyps))


def _edits(out) -> ItemScores:
    # jiwer's alignment chunks of each utterance: a substitution or deletion costs its
    # reference span, an insertion its hypothesis span; "equal" chunks cost nothing.
    edits = [
        float(
            sum(
                (c.hyp_end_idx - c.hyp_start_idx)
                if c.type == "insert"
                else (c.ref_end_idx - c.ref_start_idx)
                for c in chunks
                if c.type != "equal"
            )
        )
        for chunks in out.alignments
    ]
    return edits, [float(len(r)) for r in out.references]


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
