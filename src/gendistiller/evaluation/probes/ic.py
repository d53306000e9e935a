"""IC: intent classification, (action, object, location) all right = correct (SUPERB: FSC).

Data: the offline corpus (``split_ic``; Fluent Speech Commands' slot values), or Fluent
Speech Commands from its standard layout: ``data/{train,valid,test}_data.csv`` with
columns ``path`` (relative to the root), ``speakerId``, ``transcription``, ``action``,
``object``, ``location``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import (
    Example,
    TaskData,
    check_root,
    corpus_task,
)
from gendistiller.evaluation.probes.metrics import exact_matches
from gendistiller.evaluation.probes.task import CLASSIFY, ProbeTask, Recipe

SLOTS = ("action", "object", "location")
_FSC_FILES = {"train": "train_data.csv", "dev": "valid_data.csv", "test": "test_data.csv"}


def from_corpus(corpus) -> TaskData:
    return corpus_task(
        corpus, "ic", lambda r: (r.intent_action, r.intent_object, r.intent_location)
    )


def fluent_speech_commands(root: str | Path) -> TaskData:
    base = check_root(root, "Fluent Speech Commands", *(f"data/{f}" for f in _FSC_FILES.values()))
    splits = {name: _read_csv(base, base / "data" / f) for name, f in _FSC_FILES.items()}
    return TaskData("ic", **splits, source=f"Fluent Speech Commands {base}")


def _read_csv(base: Path, path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("path", *SLOTS) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing columns {', '.join(missing)}")
        examples = []
        for line_no, row in enumerate(reader, start=2):
            audio = base / row["path"]
            if not audio.is_file():
                raise DataError(f"{path}:{line_no}: {audio} not found")
            examples.append(Example(row["path"], str(audio), tuple(row[s].strip() for s in SLOTS)))
    return examples


TASK = ProbeTask(
    name="ic",
    title="intent classification",
    kind=CLASSIFY,
    metric="accuracy",
    lower_is_better=False,
    recipe=Recipe(
        steps=1000, batch_size=32, lr=2e-3, eval_every=100, head="pooled", full_batch=True
    ),
    per_item=exact_matches,
    from_corpus=from_corpus,
    datasets={"fluent_speech_commands": fluent_speech_commands},
)
