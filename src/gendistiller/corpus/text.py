"""Sentence generator: varied, grammatical English sentences from the built-in lexicon.

Fourteen sentence shapes (statements, questions, requests, passives, past and future)
over the word lists of :mod:`gendistiller.corpus.lexicon`; with several hundred words
they give millions of distinct sentences, so a corpus can use each text only once.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gendistiller.corpus import lexicon as lx


def _a(word: str) -> str:
    """The indefinite article for ``word`` (the lexicon has no exceptions such as "hour")."""
    return "an" if word[0] in "aeiou" else "a"


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _shapes(r: random.Random) -> list[Callable[[], str]]:
    c = r.choice
    noun = lambda: c(lx.NOUNS)[0]  # noqa: E731 - tiny local helpers keep the shapes readable
    plural = lambda: c(lx.NOUNS)[1]  # noqa: E731
    adj = lambda: c(lx.ADJECTIVES)  # noqa: E731
    vt = lambda: c(lx.TRANSITIVE)  # noqa: E731
    vi = lambda: c(lx.INTRANSITIVE)  # noqa: E731
    name = lambda: c(lx.NAMES)  # noqa: E731
    place = lambda: c(lx.PLACES)  # noqa: E731
    prep = lambda: c(lx.PREPOSITIONS)  # noqa: E731

    def found_a() -> str:
        a = adj()
        return f"I was {c(lx.MOODS)} to find {_a(a)} {a} {noun()} in the {place()}."

    def have_you() -> str:
        a = adj()
        return f"Have you ever {vt()[2]} {_a(a)} {a} {noun()}?"

    return [
        lambda: f"{name()} {vt()[1]} the {adj()} {noun()} {c(lx.PAST_TIMES)}.",
        lambda: f"The {adj()} {noun()} {vi()[1]} {prep()} the {place()}.",
        lambda: f"Did {name()} {vt()[0]} the {noun()} {prep()} the {place()}?",
        lambda: f"{c(lx.NUMBERS).capitalize()} {adj()} {plural()} were {vt()[2]} by {name()}.",
        lambda: f"We will {vt()[0]} the {noun()} {c(lx.MANNER_ADVERBS)} {c(lx.FUTURE_TIMES)}.",
        lambda: f"{name()} said that the {noun()} was very {adj()}.",
        lambda: f"Why is the {noun()} so {adj()} today?",
        lambda: f"The {noun()} and the {noun()} are both {adj()}.",
        lambda: f"{name()} {c(lx.MANNER_ADVERBS)} {vt()[1]} the {noun()} and {vi()[1]}.",
        lambda: f"There are {c(lx.NUMBERS)} {plural()} {prep()} the {place()}.",
        lambda: f"Please {vt()[0]} the {noun()} and {vt()[0]} the {adj()} {noun()}.",
        lambda: (
            f"My {c(lx.FAMILY)} {c(lx.FREQUENCY_ADVERBS)} {_third_person(vi()[0])} "
            f"{prep()} the {place()}."
        ),
        found_a,
        have_you,
    ]


class SentenceGenerator:
    """Draws sentences from a seeded generator, never returning the same text twice."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._shapes = _shapes(self._rng)
        self._seen: set[str] = set()

    def __call__(self) -> str:
        while True:
            text = self._rng.choice(self._shapes)()
            if text not in self._seen:
                self._seen.add(text)
                return text


NUM_SHAPES = len(_shapes(random.Random(0)))
