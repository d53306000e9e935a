"""Word lists for the sentence generator: several hundred common English words.

Chosen so that every sentence shape in :mod:`gendistiller.corpus.text` reads as plain
English, with no ambiguous spellings that eSpeak would pronounce oddly. Forms are given
explicitly (plurals, past tenses) rather than derived by rules, so the texts stay correct.
"""

from __future__ import annotations

NAMES = (
    "Anna Peter Maria David Sarah James Emma Oliver Sophie Thomas Laura Daniel Alice Henry "
    "Grace Samuel Lucy Martin Helen George Julia Robert Clara Simon Rachel Victor Nora Adam "
    "Ruby Oscar Ella Frank Ivy Leo Mia Noah Paula Ryan Tessa Walter"
).split()

# singular:plural (plural omitted when it is singular + "s")
_NOUNS = """
cat dog horse bird fish:fish cow sheep:sheep goat mouse:mice rabbit fox:foxes lion tiger bear
wolf:wolves duck frog apple orange lemon banana carrot potato:potatoes tomato:tomatoes onion
cake cookie sandwich:sandwiches pizza table chair window door lamp clock book letter pencil
bottle glass:glasses cup plate knife:knives spoon fork box:boxes basket bag key phone camera
radio picture mirror candle blanket pillow bucket ladder hammer rope wheel car bus:buses train
bicycle boat truck plane ship house garden river mountain forest field bridge road street
village city:cities island beach teacher doctor farmer driver baker painter student
child:children friend neighbour sister brother baby:babies pilot singer song story:stories game
question answer idea problem plan message ticket present coin map shirt coat hat shoe boot sock
glove dress:dresses jacket umbrella ring flower tree stone leaf:leaves cloud star kettle parcel
"""
NOUNS: tuple[tuple[str, str], ...] = tuple(
    (w.split(":")[0], w.split(":")[1] if ":" in w else w + "s") for w in _NOUNS.split()
)

ADJECTIVES = (
    "big small old new young happy sad red blue green yellow black white brown tall short long "
    "heavy light warm cold hot quiet loud bright dark clean dirty empty full soft hard fast slow "
    "rich poor strong weak kind angry tired hungry lucky famous strange simple busy broken open "
    "wooden golden silver tiny huge lovely ugly gentle clever brave funny pretty friendly careful "
    "curious nervous calm sweet bitter fresh round square narrow wide thin thick sharp"
).split()

# base:past:participle
_TRANSITIVE = """
see:saw:seen find:found:found take:took:taken give:gave:given bring:brought:brought
buy:bought:bought sell:sold:sold carry:carried:carried paint:painted:painted
wash:washed:washed open:opened:opened close:closed:closed push:pushed:pushed
pull:pulled:pulled catch:caught:caught throw:threw:thrown hold:held:held
drop:dropped:dropped lift:lifted:lifted fix:fixed:fixed break:broke:broken build:built:built
clean:cleaned:cleaned cook:cooked:cooked move:moved:moved hide:hid:hidden
watch:watched:watched visit:visited:visited follow:followed:followed call:called:called
help:helped:helped like:liked:liked want:wanted:wanted need:needed:needed keep:kept:kept
fill:filled:filled borrow:borrowed:borrowed lose:lost:lost forget:forgot:forgotten
remember:remembered:remembered draw:drew:drawn write:wrote:written send:sent:sent
show:showed:shown touch:touched:touched kick:kicked:kicked count:counted:counted
check:checked:checked order:ordered:ordered share:shared:shared return:returned:returned
steal:stole:stolen feed:fed:fed chase:chased:chased love:loved:loved cut:cut:cut
wrap:wrapped:wrapped mend:mended:mended sort:sorted:sorted drag:dragged:dragged
"""
TRANSITIVE: tuple[tuple[str, str, str], ...] = tuple(
    tuple(w.split(":"))
    for w in _TRANSITIVE.split()  # type: ignore[misc]
)

# base:past
_INTRANSITIVE = """
sleep:slept laugh:laughed smile:smiled run:ran walk:walked sing:sang dance:danced jump:jumped
swim:swam sit:sat wait:waited shout:shouted cry:cried arrive:arrived fall:fell stay:stayed
rest:rested work:worked play:played travel:travelled listen:listened whisper:whispered
hurry:hurried climb:climbed wander:wandered
"""
INTRANSITIVE: tuple[tuple[str, str], ...] = tuple(
    tuple(w.split(":"))
    for w in _INTRANSITIVE.split()  # type: ignore[misc]
)

MANNER_ADVERBS = (
    "quickly slowly quietly carefully happily suddenly loudly gently proudly calmly politely "
    "bravely nearly finally"
).split()

FREQUENCY_ADVERBS = "always never often rarely sometimes usually".split()

PLACES = (
    "kitchen garden park station market library school office river bank hospital museum "
    "bakery harbour cinema hotel church farm beach hill forest village square bridge airport "
    "theatre garage cellar attic corridor playground"
).split()

PREPOSITIONS = "in near behind beside across through inside outside".split()

PAST_TIMES = (
    "yesterday",
    "last night",
    "this morning",
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "on Saturday",
    "on Sunday",
    "after lunch",
    "before dinner",
    "at noon",
    "at midnight",
    "in the evening",
    "last week",
    "last summer",
    "two days ago",
    "an hour ago",
    "in the winter",
)

FUTURE_TIMES = (
    "tomorrow",
    "tonight",
    "next week",
    "next month",
    "on Friday",
    "after school",
    "before the train leaves",
    "later today",
    "in the spring",
    "at the weekend",
)

NUMBERS = "two three four five six seven eight nine ten eleven twelve".split()

FAMILY = "mother father sister brother uncle aunt cousin grandmother grandfather".split()

MOODS = "happy glad surprised worried sure afraid".split()


def vocabulary() -> set[str]:
    """Every word the sentence generator can produce, lower case."""
    words: set[str] = set()
    words.update(n.lower() for n in NAMES)
    for pair in NOUNS:
        words.update(pair)
    for triple in TRANSITIVE:
        words.update(triple)
    for pair in INTRANSITIVE:
        words.update(pair)
    words.update(ADJECTIVES + MANNER_ADVERBS + FREQUENCY_ADVERBS + PLACES + PREPOSITIONS)
    words.update(NUMBERS + FAMILY + MOODS)
    for phrase in PAST_TIMES + FUTURE_TIMES:
        words.update(phrase.lower().split())
    return words
