"""`gendistiller features`: per-file features, bad files skipped and counted, resumable."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.numpy import load_file

from gendistiller.cli import main
from gendistiller.export.extract import extract
from gendistiller.export.parity import synthetic_speech
from gendistiller.io import TMP_PREFIX
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
    partial = out / f"{TMP_PREFIX}a.npy.pid999999999.x.npy"  # its writer was killed
    (out / "a.npy").rename(partial)
    capsys.readouterr()
    assert _features(audio_dir, out, student_dir) == 0
    assert "1 written, 2 already done, 2 skipped" in capsys.readouterr().out
    assert os.stat(finished).st_mtime_ns == stamp
    assert (out / "a.npy").is_file() and not partial.exists()
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


def test_safetensors_match_npy_and_are_written_without_holding_the_result(student_dir, tmp_path):
    import tracemalloc

    from gendistiller.export.features import extract_folder

    root = tmp_path / "long"
    root.mkdir()
    sf.write(root / "long.wav", synthetic_speech(120 * 16_000, seed=5), 16_000, subtype="FLOAT")
    kwargs = dict(chunk_seconds=2.0, context_seconds=0.5, progress=False)
    extract_folder(root, tmp_path / "npy", str(student_dir), **kwargs)
    tracemalloc.start()
    try:
        extract_folder(root, tmp_path / "st", str(student_dir), fmt="safetensors", **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    want = np.load(tmp_path / "npy" / "long.npy")
    got = load_file(tmp_path / "st" / "long.safetensors")
    assert sorted(got) == [f"hidden_state_{i}" for i in range(want.shape[0])]
    for i in range(want.shape[0]):
        np.testing.assert_array_equal(got[f"hidden_state_{i}"], want[i])
    from safetensors import safe_open

    with safe_open(tmp_path / "st" / "long.safetensors", "np") as fh:
        assert fh.metadata() == {"stride": "320", "sample_rate": "16000"}
    assert peak < want.nbytes / 2  # the result was never assembled in memory


def test_files_gone_or_truncated_after_listing_are_skipped_once_and_counted(
    audio_dir, student_dir, tmp_path, capsys, monkeypatch
):
    import importlib

    from gendistiller.data import sources

    extract = importlib.import_module("gendistiller.export.extract")  # not the function
    listed, read_header = sources.list_folder, extract.audio_info

    def then_delete(*args, **kwargs):
        files = listed(*args, **kwargs)
        (audio_dir / "a.wav").unlink()  # gone between the listing and its read
        return files

    def then_truncate(path):
        info = read_header(path)
        if path.endswith("c.wav"):  # shorter than its header said, once read
            Path(path).write_bytes(Path(path).read_bytes()[:5000])
        return info

    monkeypatch.setattr(sources, "list_folder", then_delete)
    monkeypatch.setattr(extract, "audio_info", then_truncate)
    out = tmp_path / "out"
    assert _features(audio_dir, out, student_dir) == 0
    captured = capsys.readouterr()
    for name in ("a.wav", "c.wav"):
        lines = [line for line in captured.err.splitlines() if name in line]
        assert len(lines) == 1 and lines[0].startswith("skipping "), captured.err
    assert "1 written" in captured.out and "4 skipped" in captured.out
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["b.npy", "features.json"]
    assert not list(out.rglob(f"{TMP_PREFIX}*"))  # the partial output of c.wav is gone
