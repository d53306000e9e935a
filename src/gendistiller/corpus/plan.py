"""What a corpus contains: sizes, who says what, and the split of every utterance.

The plan is pure Python and cheap; it is fully determined by the size and the seed.
Split policy (also in docs/corpus.md):

- ``split`` (generic; also ``split_pr``, ``split_asr``, ``split_ks``, ``split_ic`` for
  the rows of those tasks): by held-out speaker. About 10 % of speakers are dev and 10 %
  test, balanced by gender; every sentence text is unique in the corpus, so dev and test
  sentences are held out too.
- ``split_sid`` (speaker identification, sentences only): by utterance; every speaker is
  in every split with about 80/10/10 % of their sentences.
"""

from __future__ import annotations

import functools
import random
from dataclasses import asdict, dataclass

from gendistiller.corpus.commands import INTENTS, KEYWORDS, UNKNOWN_WORDS, Intent, phrasings
from gendistiller.corpus.speakers import MAX_SPEAKERS, Speaker, make_speakers
from gendistiller.corpus.text import SentenceGenerator
from gendistiller.errors import ConfigError

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class CorpusSize:
    """Utterances per speaker of each kind. Keyword and intent classes are cycled so that
    every class is covered as evenly as the counts allow."""

    name: str
    speakers: int
    sentences: int
    keywords: int  # utterances of the ten target keywords
    unknown: int  # utterances of "unknown" words
    intents: int

    def validate(self) -> None:
        if not 3 <= self.speakers <= MAX_SPEAKERS:
            raise ConfigError(f"corpus size {self.name}: speakers must be in 3..{MAX_SPEAKERS}")
        if self.sentences < 3:
            raise ConfigError(f"corpus size {self.name}: sentences must be at least 3")
        for key in ("keywords", "unknown", "intents"):
            if getattr(self, key) < 0:
                raise ConfigError(f"corpus size {self.name}: {key} must be >= 0")

    def as_dict(self) -> dict:
        return asdict(self)


SIZES: dict[str, CorpusSize] = {
    # unit tests: a second or two
    "tiny": CorpusSize("tiny", speakers=6, sentences=3, keywords=3, unknown=1, intents=2),
    # tests and quick probes: every keyword and intent class, a few hundred utterances
    "small": CorpusSize("small", speakers=20, sentences=8, keywords=10, unknown=3, intents=8),
    # demo, probes, benchmarks: over two hours; every class for every speaker
    "default": CorpusSize(
        "default", speakers=60, sentences=30, keywords=20, unknown=10, intents=31
    ),
}


def get_size(size: str | CorpusSize) -> CorpusSize:
    if isinstance(size, CorpusSize):
        size.validate()
        return size
    if size not in SIZES:
        raise ConfigError(f"corpus size: unknown {size!r}; choose one of {', '.join(SIZES)}")
    return SIZES[size]


@dataclass(frozen=True)
class PlannedUtterance:
    id: str
    speaker: Speaker
    kind: str  # "sentence" or "command"
    text: str
    keyword: str  # the spoken word for keyword utterances, else ""
    intent: Intent | None
    split: str
    split_sid: str  # "" for commands
    rate: int
    pitch: int
    seed: int

    @property
    def path(self) -> str:
        return f"audio/{self.speaker.id}/{self.id}.flac"


def _held_out(count: int) -> int:
    return max(1, round(0.1 * count))


def speaker_splits(speakers: list[Speaker]) -> dict[str, str]:
    """Speaker id -> split. Speakers are already in random order, alternating gender."""
    n = _held_out(len(speakers))
    names = ["test"] * n + ["dev"] * n + ["train"] * (len(speakers) - 2 * n)
    return {s.id: name for s, name in zip(speakers, names, strict=True)}


def plan_corpus(size: CorpusSize, seed: int) -> list[PlannedUtterance]:
    """Every utterance of the corpus, grouped by speaker, in a fixed order."""
    size.validate()
    speakers = make_speakers(size.speakers, seed)
    held_out = speaker_splits(speakers)
    sentences = SentenceGenerator(seed)
    plan: list[PlannedUtterance] = []
    for i, spk in enumerate(speakers):
        rng = random.Random(f"plan-{seed}-{spk.id}")
        sid = _sid_splits(size.sentences, rng)
        make = functools.partial(_utterance, spk, held_out[spk.id], rng)
        for j in range(size.sentences):
            plan.append(make(f"{spk.id}-s{j:03d}", "sentence", sentences(), split_sid=sid[j]))
        words = [KEYWORDS[(i * size.keywords + j) % len(KEYWORDS)] for j in range(size.keywords)]
        words += [
            UNKNOWN_WORDS[(i * size.unknown + j) % len(UNKNOWN_WORDS)] for j in range(size.unknown)
        ]
        for j, word in enumerate(words):
            # Mostly plain, sometimes emphatic, as people say commands.
            text = word.capitalize() + ("!" if rng.random() < 0.3 else ".")
            plan.append(make(f"{spk.id}-k{j:03d}", "command", text, keyword=word))
        for j in range(size.intents):
            intent = INTENTS[(i * size.intents + j) % len(INTENTS)]
            text = rng.choice(phrasings(intent))
            plan.append(make(f"{spk.id}-i{j:03d}", "command", text, intent=intent))
    return plan


def _utterance(
    spk: Speaker,
    split: str,
    rng: random.Random,
    uid: str,
    kind: str,
    text: str,
    *,
    keyword: str = "",
    intent: Intent | None = None,
    split_sid: str = "",
) -> PlannedUtterance:
    return PlannedUtterance(
        id=uid,
        speaker=spk,
        kind=kind,
        text=text,
        keyword=keyword,
        intent=intent,
        split=split,
        split_sid=split_sid,
        # A person never says two things at exactly the same speed and pitch.
        rate=round(spk.rate * rng.uniform(0.96, 1.04)),
        pitch=spk.pitch + rng.randint(-2, 2),
        seed=rng.getrandbits(31),
    )


def _sid_splits(count: int, rng: random.Random) -> list[str]:
    n = _held_out(count)
    names = ["test"] * n + ["dev"] * n + ["train"] * (count - 2 * n)
    rng.shuffle(names)
    return names
