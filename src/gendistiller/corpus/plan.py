"""What a corpus contains: sizes, who says what, and the split of every utterance.

The plan is pure Python and cheap; it is fully determined by the size and the seed.
Split policy (also in docs/corpus.md):

- ``split`` (generic; also ``split_pr``, ``split_asr``, ``split_ks``, ``split_ic`` for
  the rows of those tasks): by held-out speaker. A size's ``test_share`` and ``dev_share``
  of speakers (10 % each unless it says otherwise) are test and dev, balanced by gender;
  speakers who share a voice (sizes beyond 192 speakers) are in the same split, so held-out
  voices are new; every sentence text is unique in the corpus, so dev and test sentences
  are held out too.
- ``split_sid`` (speaker identification, sentences only): by utterance; every speaker is
  in every split, with ``sid_test_share`` and ``sid_dev_share`` of their sentences (10 %
  each unless the size says otherwise) held out.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
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
    # Held out: shares of speakers (all tasks but SID) and of each speaker's sentences (SID).
    dev_share: float = 0.1
    test_share: float = 0.1
    sid_dev_share: float = 0.1
    sid_test_share: float = 0.1

    def validate(self) -> None:
        if not 3 <= self.speakers <= MAX_SPEAKERS:
            raise ConfigError(f"corpus size {self.name}: speakers must be in 3..{MAX_SPEAKERS}")
        if self.sentences < 3:
            raise ConfigError(f"corpus size {self.name}: sentences must be at least 3")
        for key in ("keywords", "unknown", "intents"):
            if getattr(self, key) < 0:
                raise ConfigError(f"corpus size {self.name}: {key} must be >= 0")
        for key, count in (("", self.speakers), ("sid_", self.sentences)):
            dev, test = getattr(self, f"{key}dev_share"), getattr(self, f"{key}test_share")
            if not (0 < dev < 1 and 0 < test < 1):
                raise ConfigError(
                    f"corpus size {self.name}: {key}dev_share and {key}test_share must be in (0, 1)"
                )
            if held_out(count, dev) + held_out(count, test) >= count:
                raise ConfigError(
                    f"corpus size {self.name}: {key}dev_share + {key}test_share leave no "
                    f"training {'sentence' if key else 'speaker'}"
                )

    def as_dict(self) -> dict:
        """The fields, without held-out shares at their defaults: so the sizes from before
        those fields keep their settings, hence their cache key and ``corpus.json``."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.name in _SHARES}
        return {k: v for k, v in asdict(self).items() if k not in defaults or v != defaults[k]}


_SHARES = ("dev_share", "test_share", "sid_dev_share", "sid_test_share")


SIZES: dict[str, CorpusSize] = {
    # unit tests: a second or two
    "tiny": CorpusSize("tiny", speakers=6, sentences=3, keywords=3, unknown=1, intents=2),
    # tests and quick probes: every keyword and intent class, a few hundred utterances
    "small": CorpusSize("small", speakers=20, sentences=8, keywords=10, unknown=3, intents=8),
    # demo, probes, benchmarks: over two hours; every class for every speaker
    "default": CorpusSize(
        "default", speakers=60, sentences=30, keywords=20, unknown=10, intents=31
    ),
    # evaluation: every probe task tests on >= 1,000 held-out items (dev >= 400, train about
    # 2,000) at the least audio: 250 speakers (58 reuse a voice with other bands), larger
    # held-out shares, few items per speaker. Checked by tests/corpus/test_corpus_plan.py.
    "eval": CorpusSize(
        "eval",
        speakers=250,
        sentences=14,
        keywords=9,
        unknown=4,
        intents=14,
        dev_share=0.12,
        test_share=0.3,
        sid_dev_share=0.12,
        sid_test_share=0.3,
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


def held_out(count: int, share: float) -> int:
    """How many of ``count`` a held-out ``share`` is: at least one."""
    return max(1, round(share * count))


def speaker_splits(
    speakers: list[Speaker], dev_share: float = 0.1, test_share: float = 0.1
) -> dict[str, str]:
    """Speaker id -> split. Speakers are already in random order, alternating gender.

    Voices in order of first use fill test, then dev, up to their share of the speakers;
    the speakers of one voice go together. Without shared voices (up to 192 speakers) this
    is: the first speakers test, the next dev, the rest train.
    """
    voices: dict[str, list[Speaker]] = {}
    for spk in speakers:
        voices.setdefault(spk.voice, []).append(spk)
    wanted = {
        "test": held_out(len(speakers), test_share),
        "dev": held_out(len(speakers), dev_share),
    }
    taken = dict.fromkeys(wanted, 0)
    splits: dict[str, str] = {}
    for group in voices.values():
        name = next((n for n in ("test", "dev") if taken[n] < wanted[n]), "train")
        taken[name] = taken.get(name, 0) + len(group)
        splits.update((spk.id, name) for spk in group)
    if "train" not in splits.values():
        raise ConfigError("corpus plan: the held-out shares leave no training speaker")
    return splits


def plan_corpus(size: CorpusSize, seed: int) -> list[PlannedUtterance]:
    """Every utterance of the corpus, grouped by speaker, in a fixed order."""
    size.validate()
    speakers = make_speakers(size.speakers, seed)
    splits = speaker_splits(speakers, size.dev_share, size.test_share)
    sentences = SentenceGenerator(seed)
    plan: list[PlannedUtterance] = []
    for i, spk in enumerate(speakers):
        rng = random.Random(f"plan-{seed}-{spk.id}")
        sid = _sid_splits(size, rng)
        make = functools.partial(_utterance, spk, splits[spk.id], rng)
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


def _sid_splits(size: CorpusSize, rng: random.Random) -> list[str]:
    count = size.sentences
    test, dev = held_out(count, size.sid_test_share), held_out(count, size.sid_dev_share)
    names = ["test"] * test + ["dev"] * dev + ["train"] * (count - test - dev)
    rng.shuffle(names)
    return names


def plan_digest(plan: list[PlannedUtterance]) -> str:
    """SHA-1 of everything a plan says (ids, speakers, texts, labels, splits, rates,
    pitches, seeds): equal digests, equal corpora."""
    h = hashlib.sha1()
    for utt in plan:
        h.update(json.dumps(asdict(utt), sort_keys=True).encode() + b"\n")
    return h.hexdigest()
