"""Synthesis of one speaker's utterances, in a worker process as the build runs it."""

from __future__ import annotations

import pytest

from gendistiller.corpus import build as build_module
from gendistiller.corpus import synth
from gendistiller.corpus.plan import SIZES, plan_corpus
from gendistiller.errors import DataError


def _synthesize(utterances, root):
    # A fresh worker, as in a build: eSpeak's state must not leak into this process.
    with build_module._worker_context().Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(synth.synthesize_speaker, ((utterances, str(root)),))


@pytest.fixture(scope="module")
def loud():
    """The start of an eval-corpus speaker (klatt3, high pitch) whose second utterance
    reaches full scale at eSpeak volume 50 (after the first: eSpeak's state carries over)."""
    plan = plan_corpus(SIZES["eval"], seed=0)
    utts = [u for u in plan if u.id in ("spk136-s000", "spk136-s001")]
    assert (utts[0].speaker.variant, utts[0].speaker.pitch_band) == ("klatt3", "high")
    return utts


def test_an_utterance_that_clips_is_synthesised_again_at_a_lower_volume(loud, tmp_path):
    results = _synthesize(loud, tmp_path)
    for utt, result in zip(loud, results, strict=True):
        assert result.peak_dbfs == pytest.approx(utt.speaker.peak_db, abs=0.05)
        assert (tmp_path / utt.path).is_file()


def test_without_the_retry_it_would_clip(loud, tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "RETRY_VOLUMES", ())  # the forked worker inherits it
    with pytest.raises(DataError, match="s001.flac: eSpeak output clipped at volume 50"):
        _synthesize(loud, tmp_path)
