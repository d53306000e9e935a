"""ASR: character CTC with greedy decoding, word error rate.

Transcripts are normalised to upper-case letters, apostrophes and single spaces (the
LibriSpeech convention); a space is the token ``|``. Data: the offline corpus
(``split_asr``), or LibriSpeech from its standard layout (``*.trans.txt``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import (
    SPLITS,
    Example,
    TaskData,
    check_root,
    corpus_task,
)
from gendistiller.evaluation.probes.metrics import ItemScores, word_edits
from gendistiller.evaluation.probes.task import SEQUENCE, ProbeTask, Recipe

SPACE = "|"
LIBRISPEECH_SUBSETS = ("train-clean-100", "dev-clean", "test-clean")
_DROP = re.compile(r"[^A-Z' ]+")


def normalize(text: str) -> str:
    """Upper-case letters, apostrophes and single spaces; everything else dropped
    (hyphens and slashes become spaces so that the words they join stay apart)."""
    text = re.sub(r"[-/]", " ", text.upper())
    return " ".join(_DROP.sub("", text).split())


def to_chars(text: str) -> tuple[str, ...]:
    return tuple(SPACE if c == " " else c for c in normalize(text))


def to_text(chars: Sequence[str]) -> str:
    return " ".join("".join(" " if c == SPACE else c for c in chars).split())


def per_item(refs: list[tuple[str, ...]], hyps: list[tuple[str, ...]]) -> ItemScores:
    """Word edits and reference words per utterance, on the normalised text."""
    return word_edits([to_text(r) for r in refs], [to_text(h) for h in hyps])


def from_corpus(corpus) -> TaskData:
    return corpus_task(corpus, "asr", lambda r: to_chars(r.text))


def librispeech(root: str | Path, subsets: Sequence[str] = LIBRISPEECH_SUBSETS) -> TaskData:
    """``root/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` lines
    ``<utterance-id> <TRANSCRIPT>``, audio ``<utterance-id>.flac`` next to it.
    ``subsets``: the train, dev and test subsets, in that order."""
    if len(subsets) != 3:
        raise DataError(f"librispeech: give three subsets (train, dev, test), got {list(subsets)}")
    base = check_root(root, "LibriSpeech", *subsets)
    splits = {
        name: _read_subset(base / subset) for name, subset in zip(SPLITS, subsets, strict=True)
    }
    return TaskData("asr", **splits, source=f"LibriSpeech {base} ({', '.join(subsets)})")


def _read_subset(folder: Path) -> list[Example]:
    examples = []
    for trans in sorted(folder.glob("*/*/*.trans.txt")):
        for line_no, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            uid, _, text = line.strip().partition(" ")
            audio = trans.parent / f"{uid}.flac"
            if not text or not audio.is_file():
                raise DataError(f"{trans}:{line_no}: no transcript or no {audio.name} for {uid}")
            examples.append(Example(uid, str(audio), to_chars(text)))
    if not examples:
        raise DataError(
            f"{folder}: no *.trans.txt transcripts (expected <speaker>/<chapter>/*.trans.txt)"
        )
    return examples


TASK = ProbeTask(
    name="asr",
    title="speech recognition",
    kind=SEQUENCE,
    metric="WER",
    lower_is_better=True,
    recipe=Recipe(steps=1000, batch_size=8, lr=2e-3, eval_every=200, head="conv", head_dim=128),
    per_item=per_item,
    from_corpus=from_corpus,
    datasets={"librispeech": librispeech},
)
