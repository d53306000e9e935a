"""Readers of the standard dataset layouts (on tiny fake trees) and of the offline corpus."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gendistiller.errors import DataError
from gendistiller.evaluation.probes import TASKS, asr, ic, ks, sid
from gendistiller.evaluation.probes.data import SPLITS

SR = 16000


def wav(path: Path, seconds: float = 0.1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(str(path).encode()))
    sf.write(str(path), (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR)


def test_speech_commands_v1_layout(tmp_path):
    root = tmp_path / "speech_commands_v0.01"
    files = {
        "yes/a_nohash_0.wav": "train", "yes/b_nohash_0.wav": "dev", "yes/c_nohash_0.wav": "test",
        "marvin/a_nohash_0.wav": "train", "marvin/d_nohash_0.wav": "test", "go/e_nohash_0.wav": "train",
    }  # fmt: skip
    for rel in files:
        wav(root / rel)
    wav(root / "_background_noise_" / "white_noise.wav", seconds=3.0)
    (root / "validation_list.txt").write_text("yes/b_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/c_nohash_0.wav\nmarvin/d_nohash_0.wav\n")
    data = ks.speech_commands(root).check()
    labels = {name: sorted(ex.label[0] for ex in data.split(name)) for name in SPLITS}
    assert labels["train"] == ["_silence_", "_unknown_", "go", "yes"]  # 3 words + 1 silence clip
    assert labels["dev"] == ["_silence_", "yes"]
    assert labels["test"] == ["_silence_", "_unknown_", "yes"]
    silence = next(ex for ex in data.train if ex.label == ("_silence_",))
    assert silence.num_samples == SR and silence.load().shape == (SR,)
    assert "_background_noise_" in silence.audio

    test_root = tmp_path / "speech_commands_test_set_v0.01"
    for rel in ("_silence_/s.wav", "_unknown_/u.wav", "no/n.wav"):
        wav(test_root / rel)
    with_test = ks.speech_commands(root, test_root)
    assert sorted(ex.label[0] for ex in with_test.test) == ["_silence_", "_unknown_", "no"]
    with pytest.raises(DataError, match="no testing_list.txt"):
        (root / "testing_list.txt").unlink()
        ks.speech_commands(root)


def test_voxceleb1_layout(tmp_path):
    root = tmp_path / "VoxCeleb1"
    lines = []
    for i, (spk, code) in enumerate(
        [("id10001", 1), ("id10001", 2), ("id10001", 3), ("id10002", 1), ("id10002", 3)]
    ):
        rel = f"{spk}/vid{i}/00001.wav"
        wav(root / ("dev/wav" if code < 3 else "test/wav") / rel)
        lines.append(f"{code} {rel}")
    (root / "iden_split.txt").write_text("\n".join(lines) + "\n")
    data = sid.voxceleb1(root).check()
    assert [ex.label for ex in data.train] == [("id10001",), ("id10002",)]
    assert len(data.dev) == 1 and len(data.test) == 2
    (root / "iden_split.txt").write_text("1 id10009/x/missing.wav\n")
    with pytest.raises(DataError, match="missing.wav not found"):
        sid.voxceleb1(root)


def test_librispeech_layout(tmp_path):
    root = tmp_path / "LibriSpeech"
    for subset in asr.LIBRISPEECH_SUBSETS:
        chapter = root / subset / "19" / "198"
        wav(chapter / "19-198-0000.flac")
        wav(chapter / "19-198-0001.flac")
        (chapter / "19-198.trans.txt").write_text(
            "19-198-0000 NORTHANGER ABBEY\n19-198-0001 IT WAS A BRIGHT DAY\n"
        )
    data = asr.librispeech(root).check()
    assert data.summary() == {"train": 2, "dev": 2, "test": 2}
    assert asr.to_text(data.train[1].label) == "IT WAS A BRIGHT DAY"
    with pytest.raises(DataError, match="no test-other"):
        asr.librispeech(root, ("train-clean-100", "dev-clean", "test-other"))


def test_fluent_speech_commands_layout(tmp_path):
    root = tmp_path / "fluent_speech_commands_dataset"
    header = ",path,speakerId,transcription,action,object,location\n"
    for i, split in enumerate(("train", "valid", "test")):
        rel = f"wavs/speakers/spk{i}/utt.wav"
        wav(root / rel)
        row = f"0,{rel},spk{i},Turn on the lights in the kitchen,activate,lights,kitchen\n"
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / f"{split}_data.csv").write_text(header + row)
    data = ic.fluent_speech_commands(root).check()
    assert data.train[0].label == ("activate", "lights", "kitchen")
    (root / "data" / "test_data.csv").write_text(",path,speakerId\n")
    with pytest.raises(DataError, match="missing columns"):
        ic.fluent_speech_commands(root)


def test_unknown_folder_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        ks.speech_commands(tmp_path / "nope")


@pytest.fixture
def corpus(tiny_corpus):
    return tiny_corpus


def test_corpus_readers_give_each_task_its_labels_and_splits(corpus):
    for name, task in TASKS.items():
        data = task.from_corpus(corpus).check()
        records = {r.id: r for r in corpus.records}
        for split in SPLITS:
            for ex in data.split(split):
                if ex.id.startswith("silence-"):
                    assert (
                        name == "ks"
                        and ex.label == ("_silence_",)
                        and isinstance(ex.audio, np.ndarray)
                    )
                    continue
                rec = records[ex.id]
                assert getattr(rec, f"split_{name}") == split
                expected = {
                    "pr": tuple(rec.phonemes),
                    "asr": asr.to_chars(rec.text),
                    "sid": (rec.speaker,),
                    "ic": (rec.intent_action, rec.intent_object, rec.intent_location),
                    "ks": (rec.keyword if rec.keyword != "unknown" else "_unknown_",),
                }[name]
                assert ex.label == expected
    ks_data = TASKS["ks"].from_corpus(corpus)
    assert any(ex.label == ("_silence_",) for ex in ks_data.test)
    assert {ex.label[0] for ex in ks_data.train} <= set(ks.CLASSES)
