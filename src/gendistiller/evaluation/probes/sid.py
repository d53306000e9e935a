"""SID: speaker identification, accuracy over the training speakers (SUPERB: VoxCeleb1).

Data: the offline corpus (``split_sid``: every speaker in every split, about 80/10/10 %
of their sentences), or VoxCeleb1 from its standard layout: ``iden_split.txt`` (lines
``<1|2|3> <speaker>/<video>/<clip>.wav``: train, dev, test) and the audio under
``wav/``, ``dev/wav/`` or ``test/wav/``.
"""

from __future__ import annotations

from pathlib import Path

from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import (
    SPLITS,
    Example,
    TaskData,
    check_root,
    corpus_task,
)
from gendistiller.evaluation.probes.metrics import exact_matches
from gendistiller.evaluation.probes.task import CLASSIFY, ProbeTask, Recipe

_SPLIT_CODES = {"1": "train", "2": "dev", "3": "test"}
_WAV_DIRS = ("wav", "dev/wav", "test/wav")


def from_corpus(corpus) -> TaskData:
    return corpus_task(corpus, "sid", lambda r: (r.speaker,))


def voxceleb1(root: str | Path, split_file: str | Path | None = None) -> TaskData:
    base = check_root(root, "VoxCeleb1")
    listing = Path(split_file) if split_file else base / "iden_split.txt"
    if not listing.is_file():
        raise DataError(
            f"{listing}: no such file (VoxCeleb1's identification split, iden_split.txt)"
        )
    dirs = [base / d for d in _WAV_DIRS if (base / d).is_dir()]
    if not dirs:
        raise DataError(f"{base}: no wav/, dev/wav/ or test/wav/ folder")
    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for line_no, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in _SPLIT_CODES:
            raise DataError(
                f"{listing}:{line_no}: expected '<1|2|3> <speaker>/<video>/<clip>.wav', got {line!r}"
            )
        rel = parts[1]
        path = next((d / rel for d in dirs if (d / rel).is_file()), None)
        if path is None:
            raise DataError(
                f"{listing}:{line_no}: {rel} not found under {', '.join(str(d) for d in dirs)}"
            )
        splits[_SPLIT_CODES[parts[0]]].append(Example(rel, str(path), (rel.split("/", 1)[0],)))
    return TaskData("sid", **splits, source=f"VoxCeleb1 {base}")


TASK = ProbeTask(
    name="sid",
    title="speaker identification",
    kind=CLASSIFY,
    metric="accuracy",
    lower_is_better=False,
    recipe=Recipe(steps=6000, batch_size=32, lr=5e-4, eval_every=400, head="pooled"),
    per_item=exact_matches,
    from_corpus=from_corpus,
    datasets={"voxceleb1": voxceleb1},
)
