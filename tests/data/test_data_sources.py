"""Data sources: LibriSpeech subsets, folders, manifests, the scan cache, and bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gendistiller import cli
from gendistiller.audio import SAMPLE_RATE, load_audio_crop
from gendistiller.data import DataConfig, read_audio_list, scan_source
from gendistiller.data import sources as sources_mod
from gendistiller.data.sources import problem_kind
from gendistiller.errors import ConfigError, DataError


def tone(seconds: float, sr: int = SAMPLE_RATE, seed: int = 0, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.3 * np.sin(2 * np.pi * (150 + 50 * rng.random()) * t) + 0.01 * rng.standard_normal(
        t.size
    )
    wave = wave.astype(np.float32)
    return np.stack([wave, 0.5 * wave], axis=1) if channels == 2 else wave


def write(path: Path, wave: np.ndarray, sr: int = SAMPLE_RATE, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave, sr, **kw)
    return path


def cfg(**values) -> DataConfig:
    values.setdefault("min_samples", 1600)
    values.setdefault("scan_workers", 1)
    return DataConfig(**values)


def test_folder_is_scanned_recursively_with_mono_mixdown_and_resampling(tmp_path):
    root = tmp_path / "audio"
    write(root / "a.wav", tone(1.0))
    write(root / "sub" / "b.flac", tone(0.5, seed=1))
    write(root / "sub" / "deeper" / "c.ogg", tone(0.5, seed=2), format="OGG", subtype="VORBIS")
    write(root / "stereo_44k.wav", tone(1.0, sr=44_100, channels=2), sr=44_100)
    (root / "notes.txt").write_text("not audio, not scanned")
    (root / ".hidden.wav").write_bytes(b"ignored: hidden")

    report = scan_source(cfg(root=str(root)), progress=False)

    paths = [e.path for e in report.entries]
    assert paths == sorted(paths)  # every run and rank indexes files the same way
    names = [Path(p).name for p in paths]
    assert set(names) == {"a.wav", "b.flac", "c.ogg", "stereo_44k.wav"}
    lengths = {Path(e.path).name: e.num_samples for e in report.entries}
    assert lengths["a.wav"] == SAMPLE_RATE
    assert abs(lengths["stereo_44k.wav"] - SAMPLE_RATE) <= 1  # resampled to 16 kHz
    assert not report.skipped

    # A crop of the 44.1 kHz stereo file is mono, 16 kHz, float32 and exactly as long as asked.
    crop = load_audio_crop(root / "stereo_44k.wav", start=1000, num_samples=8000)
    assert crop.dtype == np.float32 and crop.shape == (8000,)
    reference, _ = sf.read(root / "stereo_44k.wav", dtype="float32")
    mono_peak = float(np.abs(reference.mean(axis=1)).max())
    assert float(np.abs(crop).max()) <= mono_peak * 1.05  # mixed down, not left channel only


def test_librispeech_subsets_are_chosen(tmp_path):
    root = tmp_path / "LibriSpeech"
    for subset, n in (("train-clean-100", 2), ("train-clean-360", 1), ("dev-clean", 3)):
        for i in range(n):
            write(root / subset / "19" / "198" / f"19-198-{i:04d}.flac", tone(0.5, seed=i))
    (root / "train-clean-100" / "19" / "198" / "19-198.trans.txt").write_text("TEXT\n")

    report = scan_source(
        cfg(source="librispeech", root=str(root), subsets=["train-clean-100", "train-clean-360"]),
        progress=False,
    )
    assert len(report.entries) == 3
    assert all("dev-clean" not in e.path for e in report.entries)

    with pytest.raises(ConfigError, match=r"data\.subsets: train-other-500 not found"):
        scan_source(cfg(source="librispeech", root=str(root), subsets=["train-other-500"]))


def test_manifest_tsv_with_counts_needs_no_file_access(tmp_path, monkeypatch):
    write(tmp_path / "wavs" / "a.wav", tone(1.0))
    manifest = tmp_path / "train.tsv"
    manifest.write_text("wavs\na.wav\t16000\nmissing.wav\t32000\n")  # fairseq layout

    monkeypatch.setattr(sources_mod, "inspect_file", _fail_if_called)
    report = scan_source(cfg(source="manifest", manifest=str(manifest)), progress=False)
    assert [(Path(e.path).name, e.num_samples) for e in report.entries] == [
        ("a.wav", 16000),
        ("missing.wav", 32000),
    ]
    assert all(Path(e.path).parent == tmp_path / "wavs" for e in report.entries)


def test_manifest_csv_without_counts_reads_headers(tmp_path):
    write(tmp_path / "a.flac", tone(0.5))
    write(tmp_path / "b.flac", tone(0.25))
    manifest = tmp_path / "list.csv"
    manifest.write_text(f"path,duration\na.flac,\n{tmp_path / 'b.flac'},\n")
    base, rows = read_audio_list(str(manifest))
    assert base == tmp_path and [r[1] for r in rows] == [None, None]
    report = scan_source(cfg(source="manifest", manifest=str(manifest)), progress=False)
    assert sorted(e.num_samples for e in report.entries) == [4000, 8000]


def test_manifest_bad_count_names_the_line(tmp_path):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("a.wav\t100\nb.wav\tlots\n")
    with pytest.raises(DataError, match=r"m\.tsv:2: number of samples 'lots'"):
        read_audio_list(str(manifest))


def test_scan_results_are_cached_and_refreshed_when_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "audio"
    write(root / "a.wav", tone(1.0))
    write(root / "b.wav", tone(0.5))
    first = scan_source(cfg(root=str(root)), progress=False)
    assert (root / ".gendistiller-scan.tsv").is_file()

    monkeypatch.setattr(sources_mod, "inspect_file", _fail_if_called)
    again = scan_source(cfg(root=str(root)), progress=False)
    assert again.entries == first.entries

    monkeypatch.undo()
    write(root / "b.wav", tone(2.0))  # size and mtime change: rescanned
    changed = scan_source(cfg(root=str(root)), progress=False)
    assert {Path(e.path).name: e.num_samples for e in changed.entries}["b.wav"] == 2 * SAMPLE_RATE


def test_cache_folder_option(tmp_path):
    root = tmp_path / "audio"
    write(root / "a.wav", tone(0.5))
    scan_source(cfg(root=str(root), cache_dir=str(tmp_path / "cache")), progress=False)
    assert not (root / ".gendistiller-scan.tsv").exists()
    assert len(list((tmp_path / "cache").glob("scan-*.tsv"))) == 1


BAD_KINDS = {
    "corrupt.wav": "not readable as audio",
    "empty.wav": "not readable as audio",
    "zero_frames.wav": "empty audio",
    "text.flac": "not readable as audio",
    "short.wav": "too short",
    "nan.wav": "contains NaN or infinite samples",
    "inf.wav": "contains NaN or infinite samples",
    "silent.wav": "all silent",
}


def make_bad_files(root: Path) -> None:
    good = tone(0.5)
    data = bytearray(open(write(root / "tmp.wav", good), "rb").read())
    (root / "tmp.wav").unlink()
    (root / "corrupt.wav").write_bytes(bytes(data[:12]) + np.random.default_rng(0).bytes(4000))
    (root / "empty.wav").write_bytes(b"")
    write(root / "zero_frames.wav", np.zeros(0, dtype=np.float32))
    (root / "text.flac").write_text("this is not audio\n" * 50)
    write(root / "short.wav", tone(0.05))
    nan = good.copy()
    nan[100] = np.nan
    write(root / "nan.wav", nan, subtype="FLOAT")
    inf = good.copy()
    inf[200] = np.inf
    write(root / "inf.wav", inf, subtype="FLOAT")
    write(root / "silent.wav", np.zeros(SAMPLE_RATE // 2, dtype=np.float32))


@pytest.mark.parametrize("verify", ["full", "header"])
def test_every_bad_file_is_skipped_with_one_warning_and_counted(tmp_path, caplog, verify):
    root = tmp_path / "audio"
    make_bad_files(root)
    write(root / "good.wav", tone(0.5))

    with caplog.at_level(logging.WARNING, logger="gendistiller"):
        report = scan_source(cfg(root=str(root), verify=verify), progress=False)

    assert [Path(e.path).name for e in report.entries] == ["good.wav"] + (
        [] if verify == "full" else ["inf.wav", "nan.wav", "silent.wav"]
    )
    expected = {
        k: v for k, v in BAD_KINDS.items() if verify == "full" or v not in _CONTENT_PROBLEMS
    }
    skipped = {Path(p).name: problem for p, problem in report.skipped}
    assert set(skipped) == set(expected)
    for name, kind in expected.items():
        assert skipped[name].startswith(kind), (name, skipped[name])
        warnings = [r.getMessage() for r in caplog.records if name in r.getMessage()]
        assert len(warnings) == 1 and kind in warnings[0]
    summary = report.summary()
    assert f"{len(expected)} skipped" in summary and "1 too short" in summary


_CONTENT_PROBLEMS = {"contains NaN or infinite samples", "all silent"}


def test_no_usable_audio_is_one_clear_error(tmp_path):
    root = tmp_path / "audio"
    make_bad_files(root)
    with pytest.raises(DataError, match="no usable audio") as err:
        scan_source(cfg(root=str(root)), progress=False)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="no audio files found"):
        scan_source(cfg(root=str(tmp_path / "audio" / ".."), extensions=["mp3"]), progress=False)


def test_cli_exits_nonzero_with_one_line_when_no_audio_is_usable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "audio"
    make_bad_files(root)
    code = cli.main(
        ["distill", "--config", "tiny", f"data.root={root}", f"run.dir={tmp_path / 'run'}"]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("gendistiller distill: error:")
    assert "no usable audio" in err.strip().splitlines()[-1]


def test_missing_root_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.root: .* is not a folder"):
        scan_source(cfg(root=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match=r"data\.root: required"):
        scan_source(cfg())


def _fail_if_called(*args, **kwargs):
    raise AssertionError("a file was opened although its length was known")


def test_large_scans_run_in_worker_processes(tmp_path, monkeypatch):
    root = tmp_path / "audio"
    write(root / "good.wav", tone(0.5))
    write(root / "silent.wav", np.zeros(8000, dtype=np.float32))
    write(root / "other.flac", tone(0.25, seed=3))
    monkeypatch.setattr(sources_mod, "_POOL_THRESHOLD", 0)  # pool even for three files
    report = scan_source(
        cfg(root=str(root), scan_workers=2, cache_dir=str(tmp_path / "c")), progress=False
    )
    assert [Path(e.path).name for e in report.entries] == ["good.wav", "other.flac"]
    assert [problem_kind(p) for _, p in report.skipped] == ["all silent"]
