"""The corpus manifest: one UTF-8 TSV row per utterance with every label.

``path`` (relative to the manifest's folder) and ``num_samples`` (at 16 kHz) come first,
which is all a generic audio-list reader needs; the label columns follow. Task split
columns hold ``train``/``dev``/``test`` for rows of that task and are empty otherwise.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from gendistiller.audio import SAMPLE_RATE
from gendistiller.errors import DataError

MANIFEST_NAME = "manifest.tsv"


@dataclass(frozen=True)
class Utterance:
    """One utterance and its labels (the fields are the manifest's columns, in order)."""

    path: str  # relative to the corpus folder
    num_samples: int  # at 16 kHz
    id: str
    split: str  # held-out-speaker split; the generic one
    split_sid: str  # speaker identification: by utterance (sentences only)
    split_pr: str  # phoneme recognition (sentences only)
    split_asr: str  # speech recognition (sentences only)
    split_ks: str  # keyword spotting (keyword utterances only)
    split_ic: str  # intent classification (intent utterances only)
    speaker: str
    kind: str  # "sentence" or "command"
    text: str
    phonemes: tuple[str, ...]  # over PHONES; space-separated in the manifest
    keyword: str  # one of the ten keywords or "unknown"; "" if not a keyword utterance
    intent_action: str  # "" if not an intent utterance
    intent_object: str
    intent_location: str
    gender: str
    accent: str
    voice: str  # the eSpeak voice, e.g. "en-gb-scotland+f2"
    peak_dbfs: float
    rms_dbfs: float
    sha1: str  # of the 16-bit samples in the file

    @property
    def seconds(self) -> float:
        return self.num_samples / SAMPLE_RATE

    @property
    def intent(self) -> str:
        """``"action/object/location"``, or ``""`` if not an intent utterance."""
        if not self.intent_action:
            return ""
        return f"{self.intent_action}/{self.intent_object}/{self.intent_location}"


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Utterance))
_INT = {"num_samples"}
_FLOAT = {"peak_dbfs", "rms_dbfs"}


def write_manifest(path: str | os.PathLike, records: list[Utterance]) -> None:
    lines = ["\t".join(COLUMNS)]
    for rec in records:
        cells = []
        for name in COLUMNS:
            value = getattr(rec, name)
            cell = " ".join(value) if isinstance(value, tuple) else str(value)
            if "\t" in cell or "\n" in cell:
                raise DataError(f"{rec.id}: column {name} contains a tab or newline")
            cells.append(cell)
        lines.append("\t".join(cells))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_corpus_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Parse a corpus manifest; a missing column or bad value raises a one-line DataError."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path}: not a corpus manifest (missing columns {', '.join(missing)})"
                )
            return [_parse(row, path, line) for line, row in enumerate(reader, start=2)]
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def _parse(row: dict[str, str], path: Path, line: int) -> Utterance:
    values: dict[str, object] = {}
    for name in COLUMNS:
        cell = row.get(name)
        if cell is None:
            raise DataError(f"{path}:{line}: missing value for {name}")
        try:
            if name in _INT:
                values[name] = int(cell)
            elif name in _FLOAT:
                values[name] = float(cell)
            elif name == "phonemes":
                values[name] = tuple(cell.split())
            else:
                values[name] = cell
        except ValueError:
            raise DataError(f"{path}:{line}: bad {name} {cell!r}") from None
    return Utterance(**values)  # type: ignore[arg-type]
