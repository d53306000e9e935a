"""PR: phoneme recognition, CTC over phones, phone error rate (SUPERB's frame-wise linear head).

Data: the offline corpus (``split_pr``: held-out speakers; labels are the 40 ARPAbet
phones of what eSpeak said, see docs/corpus.md). SUPERB's own PR set (LibriSpeech with
a g2p lexicon) runs through s3prl: docs/superb.md.
"""

from __future__ import annotations

from gendistiller.evaluation.probes.data import (
    TaskData,
    corpus_task,
)
from gendistiller.evaluation.probes.metrics import token_edits
from gendistiller.evaluation.probes.task import SEQUENCE, ProbeTask, Recipe


def from_corpus(corpus) -> TaskData:
    return corpus_task(corpus, "pr", lambda r: tuple(r.phonemes))


TASK = ProbeTask(
    name="pr",
    title="phoneme recognition",
    kind=SEQUENCE,
    metric="PER",
    lower_is_better=True,
    recipe=Recipe(steps=1000, batch_size=24, lr=1e-2, eval_every=200, head="linear"),
    per_item=token_edits,
    from_corpus=from_corpus,
)
