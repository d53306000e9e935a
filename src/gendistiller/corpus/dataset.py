"""A built corpus on disk: :class:`Corpus` and :func:`load_corpus`."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gendistiller.audio import load_audio
from gendistiller.corpus.manifest import MANIFEST_NAME, Utterance, read_corpus_manifest
from gendistiller.corpus.speakers import Speaker
from gendistiller.errors import ConfigError, DataError

INFO_NAME = "corpus.json"
FORMAT_VERSION = 1

# task -> its split column. "all" is the generic, held-out-speaker split of every row.
SPLIT_COLUMNS: dict[str, str] = {
    "all": "split",
    "sid": "split_sid",
    "pr": "split_pr",
    "asr": "split_asr",
    "ks": "split_ks",
    "ic": "split_ic",
}


@dataclass(frozen=True)
class Corpus:
    root: Path
    records: tuple[Utterance, ...]
    speakers: tuple[Speaker, ...]
    info: dict  # the contents of corpus.json: settings, inventories, build figures

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def phone_set(self) -> tuple[str, ...]:
        return tuple(self.info["phone_set"])

    @property
    def keyword_classes(self) -> tuple[str, ...]:
        return tuple(self.info["keyword_classes"])

    @property
    def intents(self) -> tuple[str, ...]:
        """Intent labels, ``"action/object/location"``."""
        return tuple(self.info["intents"])

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def __len__(self) -> int:
        return len(self.records)

    def split(self, task: str, name: str) -> list[Utterance]:
        """Records of ``task`` (one of :data:`SPLIT_COLUMNS`) in split ``name`` (train/dev/test)."""
        if task not in SPLIT_COLUMNS:
            raise ConfigError(
                f"corpus task: unknown {task!r}; choose one of {', '.join(SPLIT_COLUMNS)}"
            )
        if name not in ("train", "dev", "test"):
            raise ConfigError(f"corpus split: unknown {name!r}; choose train, dev or test")
        column = SPLIT_COLUMNS[task]
        return [r for r in self.records if getattr(r, column) == name]

    def write_manifest(
        self, path: str | os.PathLike, task: str = "all", split: str = "train"
    ) -> Path:
        """A ``path  num_samples`` TSV of one split (the distillation data reader's format;
        paths relative to the corpus root), written atomically. Default: the training speakers only, so that probes are scored
        on speakers the student never heard."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(["path", "num_samples"])
            for r in self.split(task, split):
                writer.writerow([r.path, r.num_samples])
        tmp.replace(path)
        return path

    def audio_path(self, record: Utterance) -> Path:
        return self.root / record.path

    def load(self, record: Utterance) -> np.ndarray:
        """The utterance as mono float32 at 16 kHz."""
        return load_audio(self.audio_path(record))


def is_corpus(path: str | os.PathLike) -> bool:
    return (Path(path) / INFO_NAME).is_file()


def read_info(root: str | os.PathLike) -> dict:
    path = Path(root) / INFO_NAME
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{root}: not a corpus folder (no {INFO_NAME})") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable ({err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT_VERSION:
        raise DataError(f"{path}: unsupported corpus format (expected format {FORMAT_VERSION})")
    return info


def load_corpus(root: str | os.PathLike) -> Corpus:
    """Open a corpus folder written by :func:`build_corpus` (checks that its files exist)."""
    root = Path(root)
    info = read_info(root)
    records = tuple(read_corpus_manifest(root / MANIFEST_NAME))
    for rec in records:
        if not (root / rec.path).is_file():
            raise DataError(f"{root / rec.path}: missing audio file listed in the manifest")
    speakers = tuple(Speaker(**s) for s in info["speakers"])
    return Corpus(root=root, records=records, speakers=speakers, info=info)
