"""Long-audio extraction: chunks with context, stitched on the 320-sample frame grid."""

import numpy as np
import pytest
import soundfile as sf
import torch

import gendistiller
from gendistiller.audio import AudioError
from gendistiller.encoders import FrameGeometry
from gendistiller.errors import ConfigError
from gendistiller.export.extract import ChunkedStates, extract, plan_chunks
from gendistiller.export.parity import synthetic_speech
from gendistiller.students import build_student


@pytest.fixture(scope="module", params=["gendistiller-tiny", "gendistiller-fast-tiny"])
def student(request):
    torch.manual_seed(0)
    return build_student(request.param).eval()


def _cosine(a, b):
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


@pytest.mark.parametrize("align", [1, 2, 3])
def test_chunks_tile_the_frames_and_stay_inside_the_audio(align):
    # align: a student merging that many frames inside must merge the same ones per chunk.
    n, stride, field = 123_457, 320, 400
    total = (n - field) // stride + 1
    geometry = FrameGeometry.single(field, stride)
    chunks = plan_chunks(n, geometry, chunk_frames=100, context_frames=7, align=align)
    assert chunks[0].first == 0 and chunks[-1].last == total
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.last == b.first
    for c in chunks:
        assert 0 <= c.start and c.stop <= n and c.start % stride == 0
        offset = c.offset(stride)
        assert offset % align == 0 and c.first % align == 0
        assert offset == max(0, c.first - 7) // align * align
        assert (c.stop - c.start - field) // stride + 1 == min(total, c.last + 7) - offset


def test_chunked_equals_whole_away_from_chunk_borders(student):
    # White noise: neighbouring frames are unrelated, so a one-frame misalignment would show.
    wave = np.random.default_rng(1).standard_normal(16_000 * 24).astype(np.float32) * 0.1
    whole = extract(wave, student, chunk_seconds=1e6)
    chunked = extract(wave, student, chunk_seconds=5.0, context_seconds=1.0)
    assert chunked.shape == whole.shape == (3, (wave.size - 400) // 320 + 1, 32)
    borders = np.arange(250, whole.shape[1], 250)  # 5 s chunks = 250 frames
    away = np.ones(whole.shape[1], bool)
    for b in borders:
        away[b - 50 : b + 50] = False  # within the 1 s context of a border
    cos = _cosine(whole, chunked)
    # Each chunk normalises with its own statistics (the CNN's first group norm, or the
    # log-mels' per-band means). The log-mels have 100 windows a second to estimate them
    # from, the CNN 3,200 steps: a 7 s chunk's log-mel means stray further (measured:
    # cosine 0.9966 at worst, 6% of the largest value) than the CNN's (0.9993, under 5%).
    conv = student.config.frontend == "conv"
    away_floor, floor, diff = (0.999, 0.99, 0.05) if conv else (0.995, 0.99, 0.1)
    assert cos[:, away].min() > away_floor
    assert np.abs(whole - chunked)[:, away].max() < diff * np.abs(whole).max()
    assert cos.min() > floor  # borders too: the context does its job
    shifted = _cosine(whole[:, 1:], chunked[:, :-1])
    assert shifted[:, away[1:]].mean() < 0.9  # the test can tell a shifted frame grid


def test_layers_selection_and_preallocated_output(student, tmp_path):
    wave = synthetic_speech(16_000 * 3)
    full = extract(wave, student, chunk_seconds=1.0, context_seconds=0.5)
    last = extract(
        torch.from_numpy(wave), student, layers=-1, chunk_seconds=1.0, context_seconds=0.5
    )
    np.testing.assert_array_equal(last, full[-1])
    out = np.lib.format.open_memmap(
        tmp_path / "f.npy", mode="w+", dtype=np.float16, shape=(2, full.shape[1], 32)
    )
    result = extract(wave, student, layers=[0, 2], chunk_seconds=1.0, context_seconds=0.5, out=out)
    assert result is out
    np.testing.assert_allclose(np.load(tmp_path / "f.npy"), full[[0, 2]], atol=2e-3, rtol=1e-3)
    with pytest.raises(ConfigError, match="layers"):
        extract(wave, student, layers=[3])


def test_paths_at_16k_and_other_rates(student, tmp_path):
    wave = synthetic_speech(16_000 * 2, seed=5)
    sf.write(tmp_path / "a.wav", wave, 16_000, subtype="FLOAT")
    np.testing.assert_array_equal(
        extract(tmp_path / "a.wav", student, chunk_seconds=0.5),
        extract(wave, student, chunk_seconds=0.5),
    )
    sf.write(tmp_path / "b.flac", synthetic_speech(44_100, seed=6), 44_100)
    states = gendistiller.extract(str(tmp_path / "b.flac"), student)
    assert states.shape == (3, (16_000 - 400) // 320 + 1, 32)


def test_teacher_and_bad_audio(tiny_teacher, tmp_path):
    wave = synthetic_speech(16_000 * 2)
    states = extract(wave, tiny_teacher, chunk_seconds=0.7)
    assert states.shape[0] == tiny_teacher.num_layers + 1
    with pytest.raises(AudioError, match="too short"):
        extract(wave[:399], tiny_teacher)
    broken = wave.copy()
    broken[20_000] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        list(ChunkedStates(broken, tiny_teacher))
    with pytest.raises(ConfigError, match="chunk_seconds"):
        ChunkedStates(wave, tiny_teacher, chunk_seconds=0)
