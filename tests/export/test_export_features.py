"""`gendistiller features`: per-file features, bad files skipped and counted, resumable."""

import json
import os

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.numpy import load_file

from gendistiller.cli import main
from gendistiller.export.extract import extract
from gendistiller.export.fidelity import synthetic_speech
from gendistiller.students import build_student, load_student


@pytest.fixture
def student_dir(tmp_path):
    torch.manual_seed(0)
    build_student("gendistiller-tiny").save_pretrained(tmp_path / "student")
    return tmp_path / "student"


@pytest.fixture
def audio_dir(tmp_path):
    root = tmp_path / "audio"
    (root / "sub").mkdir(parents=True)
    sf.write(root / "a.wav", synthetic_speech(40_000, seed=1), 16_000, subtype="FLOAT")
    sf.write(root / "sub" / "b.flac", synthetic_speech(30_000, seed=2), 22_050)
    sf.write(root / "sub" / "c.wav", synthetic_speech(20_000, seed=3), 16_000, subtype="FLOAT")
    (root / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    sf.write(root / "tiny.wav", synthetic_speech(300, seed=4), 16_000)
    return root


def _features(audio_dir, out, student_dir, *extra):
    return main(
        ["features", str(audio_dir), str(out), "--model", str(student_dir), "--no-progress", *extra]
    )


def test_writes_mirrored_features_and_skips_bad_files(audio_dir, student_dir, tmp_path, capsys):
    out = tmp_path / "features"
    assert (
        _features(audio_dir, out, student_dir, "--chunk-seconds", "1", "--context-seconds", "0.5")
        == 0
    )
    captured = capsys.readouterr()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == [
        "a.npy",
        "sub/b.npy",
        "sub/c.npy",
    ]
    student = load_student(student_dir)
    expected = extract(audio_dir / "a.wav", student, chunk_seconds=1, context_seconds=0.5)
    np.testing.assert_array_equal(np.load(out / "a.npy"), expected)
    assert f"skipping {audio_dir / 'broken.wav'}: not readable as audio" in captured.err
    assert f"skipping {audio_dir / 'tiny.wav'}: too short" in captured.err
    assert (
        "5 files: 3 written, 0 already done, 2 skipped (1 not readable as audio, 1 too short)"
        in captured.out
    )
    assert json.loads((out / "features.json").read_text())["layers"] == [0, 1, 2]


def test_resumes_without_redoing_finished_files(audio_dir, student_dir, tmp_path, capsys):
    out = tmp_path / "features"
    assert _features(audio_dir, out, student_dir) == 0
    finished = out / "sub" / "c.npy"
    stamp = os.stat(finished).st_mtime_ns
    # An interrupted run: one output missing, its partial file left behind.
    (out / "a.npy").rename(out / ".a.npy.partial")
    capsys.readouterr()
    assert _features(audio_dir, out, student_dir) == 0
    assert "1 written, 2 already done, 2 skipped" in capsys.readouterr().out
    assert os.stat(finished).st_mtime_ns == stamp
    assert (out / "a.npy").is_file() and not (out / ".a.npy.partial").exists()
    # Other settings would mix incompatible features in one folder: refused.
    assert _features(audio_dir, out, student_dir, "--layers", "1") == 2
    assert "other settings (layers)" in capsys.readouterr().err


def test_safetensors_layers_and_float16(audio_dir, student_dir, tmp_path):
    out = tmp_path / "st"
    assert (
        _features(
            audio_dir,
            out,
            student_dir,
            "--format",
            "safetensors",
            "--layers",
            "0",
            "-1",
            "--dtype",
            "float16",
        )
        == 0
    )
    tensors = load_file(out / "sub" / "c.safetensors")
    assert sorted(tensors) == ["hidden_state_0", "hidden_state_2"]
    frames = (20_000 - 400) // 320 + 1
    assert (
        tensors["hidden_state_2"].shape == (frames, 32)
        and tensors["hidden_state_2"].dtype == np.float16
    )


def test_nothing_usable_is_an_error(tmp_path, student_dir, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.wav").write_bytes(b"junk")
    assert _features(bad, tmp_path / "out", student_dir) == 2
    err = capsys.readouterr().err
    assert "no file could be processed" in err and "1 skipped" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _features(empty, tmp_path / "out2", student_dir) == 2
    assert "no audio files found" in capsys.readouterr().err


def test_mistyped_model_path_is_named(audio_dir, tmp_path, capsys):
    assert _features(audio_dir, tmp_path / "out", tmp_path / "no-such-student") == 2
    assert f"{tmp_path / 'no-such-student'}: no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing claimed before the model loads
