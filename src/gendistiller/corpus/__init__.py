"""An offline, labelled, multi-speaker English speech corpus synthesised with eSpeak NG.

``build_corpus(out_dir, size=..., seed=...)`` writes FLAC files and one ``manifest.tsv``
with every label (text, phonemes, speaker, keyword, intent, per-task splits);
``default_corpus(size)`` does the same in a settings-keyed cache and reuses it;
``load_corpus(dir)`` opens one. See docs/corpus.md.
"""

from gendistiller.corpus.build import build_corpus, cache_root, default_corpus, default_corpus_dir
from gendistiller.corpus.commands import INTENTS, KEYWORD_CLASSES, KEYWORDS, UNKNOWN, Intent
from gendistiller.corpus.dataset import SPLIT_COLUMNS, Corpus, load_corpus
from gendistiller.corpus.inventory import corpus_summary
from gendistiller.corpus.manifest import COLUMNS, MANIFEST_NAME, Utterance
from gendistiller.corpus.phones import PHONES
from gendistiller.corpus.plan import SIZES, CorpusSize
from gendistiller.corpus.speakers import Speaker

__all__ = [
    "COLUMNS",
    "INTENTS",
    "KEYWORDS",
    "KEYWORD_CLASSES",
    "MANIFEST_NAME",
    "PHONES",
    "SIZES",
    "SPLIT_COLUMNS",
    "UNKNOWN",
    "Corpus",
    "CorpusSize",
    "Intent",
    "Speaker",
    "Utterance",
    "build_corpus",
    "cache_root",
    "corpus_summary",
    "default_corpus",
    "default_corpus_dir",
    "load_corpus",
]
