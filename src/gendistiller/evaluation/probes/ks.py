"""KS: keyword spotting, twelve classes as SUPERB's Speech Commands v1.0 task.

Classes: the ten keywords, ``_unknown_`` (any other word) and ``_silence_`` (one-second
background clips). Data: the offline corpus (``split_ks``; silence is generated quiet
noise, about one class's share of each split), or Speech Commands v0.01 from its
standard layout (one folder per word, ``validation_list.txt``, ``testing_list.txt``,
``_background_noise_/``), optionally with SUPERB's separate test set
(``speech_commands_test_set_v0.01``: ``_silence_``, ``_unknown_`` and keyword folders).
"""

from __future__ import annotations

import random
from pathlib import Path

from gendistiller.audio import SAMPLE_RATE, audio_info
from gendistiller.errors import DataError
from gendistiller.evaluation.probes.data import (
    SPLITS,
    Example,
    TaskData,
    check_root,
    corpus_examples,
    noise_clips,
)
from gendistiller.evaluation.probes.metrics import exact_matches
from gendistiller.evaluation.probes.task import CLASSIFY, ProbeTask, Recipe

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
CLASSES = (*KEYWORDS, UNKNOWN, SILENCE)
NOISE_DIR = "_background_noise_"


def label_of(word: str) -> tuple[str]:
    return (word if word in KEYWORDS else UNKNOWN,)


def silence_count(examples: list[Example]) -> int:
    """About one class's share: as many silence clips as an average word class has."""
    return max(1, round(len(examples) / (len(CLASSES) - 1)))


def from_corpus(corpus, seed: int = 0) -> TaskData:
    splits = {}
    for i, name in enumerate(SPLITS):
        words = corpus_examples(corpus, "ks", name, lambda r: label_of(r.keyword))
        clips = noise_clips(silence_count(words), seed=seed * 10 + i)
        splits[name] = words + [
            Example(f"silence-{name}-{j}", c, (SILENCE,)) for j, c in enumerate(clips)
        ]
    return TaskData("ks", **splits, source=f"corpus {corpus.root} (+ generated silence)")


def speech_commands(
    root: str | Path, test_root: str | Path | None = None, seed: int = 0
) -> TaskData:
    """Speech Commands v0.01: train = files in neither list, dev = validation list, test =
    testing list (or every file of ``test_root``, SUPERB's test set, when given)."""
    base = check_root(root, "Speech Commands", "validation_list.txt", "testing_list.txt")
    listed = {name: _read_list(base / f"{name}_list.txt") for name in ("validation", "testing")}
    files = sorted(
        p.relative_to(base).as_posix() for p in base.glob("*/*.wav") if p.parent.name != NOISE_DIR
    )
    if not files:
        raise DataError(f"{base}: no <word>/*.wav files")
    groups = {
        "train": [f for f in files if f not in listed["validation"] and f not in listed["testing"]],
        "dev": [f for f in files if f in listed["validation"]],
        "test": [f for f in files if f in listed["testing"]],
    }
    splits = {name: [_word_example(base, f) for f in group] for name, group in groups.items()}
    noise = sorted((base / NOISE_DIR).glob("*.wav"))
    rng = random.Random(seed)
    for name in ("train", "dev") if test_root else SPLITS:
        splits[name] += _silence_from(noise, silence_count(splits[name]), rng, name)
    if test_root is not None:
        splits["test"] = _test_set(
            check_root(test_root, "Speech Commands test set", SILENCE, UNKNOWN)
        )
    return TaskData(
        "ks",
        **splits,
        source=f"Speech Commands {base}" + (f" (test: {test_root})" if test_root else ""),
    )


def _read_list(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def _word_example(base: Path, rel: str) -> Example:
    return Example(rel, str(base / rel), label_of(rel.split("/", 1)[0]))


def _silence_from(noise: list[Path], count: int, rng: random.Random, split: str) -> list[Example]:
    if not noise:
        raise DataError(f"no {NOISE_DIR}/*.wav files for the silence class")
    lengths = {p: audio_info(p).num_samples for p in noise}
    usable = [p for p in noise if lengths[p] >= SAMPLE_RATE]
    if not usable:
        raise DataError(f"{noise[0].parent}: every noise file is shorter than one second")
    out = []
    for j in range(count):
        path = rng.choice(usable)
        start = rng.randrange(lengths[path] - SAMPLE_RATE + 1)
        out.append(
            Example(
                f"silence-{split}-{j}", str(path), (SILENCE,), start=start, num_samples=SAMPLE_RATE
            )
        )
    return out


def _test_set(root: Path) -> list[Example]:
    examples = []
    for path in sorted(root.glob("*/*.wav")):
        word = path.parent.name
        label = (word,) if word in CLASSES else label_of(word)
        examples.append(Example(path.relative_to(root).as_posix(), str(path), label))
    return examples


TASK = ProbeTask(
    name="ks",
    title="keyword spotting",
    kind=CLASSIFY,
    metric="accuracy",
    lower_is_better=False,
    recipe=Recipe(
        steps=1000,
        batch_size=32,
        lr=2e-3,
        eval_every=100,
        head="pooled",
        balanced=True,
        full_batch=True,
    ),
    per_item=exact_matches,
    from_corpus=from_corpus,
    datasets={"speech_commands": speech_commands},
)
