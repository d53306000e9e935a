"""Command utterances: keywords (as in Speech Commands) and intents (as in Fluent Speech Commands).

Keyword utterances are one word. The ten target keywords are their own class; the
auxiliary words of Speech Commands v2 form the ``"unknown"`` class. (Evaluation adds the
``"silence"`` class from noise clips itself.)

Intent utterances are short spoken commands labelled with an (action, object, location)
triple over Fluent Speech Commands' values, ``"none"`` marking an absent slot. There are
31 intents, each with several phrasings.
"""

from __future__ import annotations

from dataclasses import dataclass

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN = "unknown"
UNKNOWN_WORDS = (
    "bed bird cat dog happy house marvin sheila tree wow zero one two three four five six "
    "seven eight nine backward forward follow learn visual"
).split()
KEYWORD_CLASSES = (*KEYWORDS, UNKNOWN)


@dataclass(frozen=True)
class Intent:
    action: str
    object: str
    location: str = "none"

    @property
    def label(self) -> str:
        return f"{self.action}/{self.object}/{self.location}"


LOCATIONS = ("kitchen", "bedroom", "washroom")
LANGUAGES = ("Chinese", "Korean", "English", "German")
_BRING = {
    "newspaper": "the newspaper",
    "juice": "some juice",
    "socks": "my socks",
    "shoes": "my shoes",
}

# (action, object) -> phrasings; "{loc}" becomes " in the kitchen" etc. or nothing.
_PHRASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("activate", "lights"): (
        "turn on the lights{loc}",
        "switch on the lights{loc}",
        "turn the lights on{loc}",
        "lights on{loc}",
    ),
    ("deactivate", "lights"): (
        "turn off the lights{loc}",
        "switch off the lights{loc}",
        "turn the lights off{loc}",
        "lights off{loc}",
    ),
    ("increase", "heat"): (
        "turn up the heat{loc}",
        "make it warmer{loc}",
        "increase the temperature{loc}",
        "heat up{loc}",
    ),
    ("decrease", "heat"): (
        "turn down the heat{loc}",
        "make it cooler{loc}",
        "decrease the temperature{loc}",
        "it is too hot{loc}",
    ),
    ("activate", "music"): ("play the music", "put on some music", "start the music", "music on"),
    ("deactivate", "music"): (
        "stop the music",
        "turn the music off",
        "pause the music",
        "music off",
    ),
    ("increase", "volume"): (
        "turn up the volume",
        "make it louder",
        "increase the volume",
        "louder please",
    ),
    ("decrease", "volume"): (
        "turn down the volume",
        "make it quieter",
        "decrease the volume",
        "too loud",
    ),
    ("activate", "lamp"): ("turn on the lamp", "switch the lamp on", "lamp on"),
    ("deactivate", "lamp"): ("turn off the lamp", "switch the lamp off", "lamp off"),
    ("change language", "none"): (
        "change the language",
        "switch the language",
        "use another language",
    ),
    ("change language", "LANG"): (
        "change the language to {obj}",
        "switch to {obj}",
        "set the language to {obj}",
        "I want to use {obj}",
    ),
    ("bring", "THING"): ("bring me {obj}", "get me {obj}", "fetch {obj}", "go and get {obj}"),
}


def _build_intents() -> tuple[Intent, ...]:
    intents: list[Intent] = []
    for action, obj in _PHRASES:
        if obj == "LANG":
            intents.extend(Intent(action, lang) for lang in LANGUAGES)
        elif obj == "THING":
            intents.extend(Intent(action, thing) for thing in _BRING)
        elif obj in ("lights", "heat"):
            intents.extend(Intent(action, obj, loc) for loc in ("none", *LOCATIONS))
        else:
            intents.append(Intent(action, obj))
    return tuple(intents)


INTENTS = _build_intents()


def phrasings(intent: Intent) -> tuple[str, ...]:
    """The spoken forms of ``intent`` (first letter capitalised, full stop at the end)."""
    if intent.action == "change language" and intent.object != "none":
        templates, obj = _PHRASES[(intent.action, "LANG")], intent.object
    elif intent.action == "bring":
        templates, obj = _PHRASES[(intent.action, "THING")], _BRING[intent.object]
    else:
        templates, obj = _PHRASES[(intent.action, intent.object)], ""
    loc = "" if intent.location == "none" else f" in the {intent.location}"
    spoken = (t.format(loc=loc, obj=obj) for t in templates)
    return tuple(text[0].upper() + text[1:] + "." for text in spoken)


def keyword_label(word: str) -> str:
    """The keyword-spotting class of a spoken word."""
    return word if word in KEYWORDS else UNKNOWN
