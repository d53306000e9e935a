"""The log-mel front-end: the DFT convolution is a short-time Fourier transform, the
filterbank covers the band, and the frames are the teacher's."""

import pytest
import torch

from gendistiller.encoders import STANDARD, FrameGeometry
from gendistiller.errors import ConfigError
from gendistiller.students import build_student, get_preset
from gendistiller.students.fbank import LOG_FLOOR, LogMelFilterbank, fft_size, mel_filters


@pytest.mark.parametrize(("window", "hop"), [(240, 160), (400, 320)])
def test_log_mels_are_those_of_an_fft(window, hop):
    # Computed independently: framed waveform, Hann window, torch.fft.rfft, power, bands.
    x = torch.randn(2, 8000, dtype=torch.float64) * 0.1
    fbank = LogMelFilterbank(40, window, hop).double()
    n_fft = fbank.mel.shape[0] * 2 - 2
    frames = x.unfold(-1, window, hop) * torch.hann_window(window, periodic=True, dtype=x.dtype)
    power = torch.fft.rfft(frames, n=n_fft).abs() ** 2
    expected = torch.log(power @ fbank.mel + LOG_FLOOR).transpose(1, 2)
    # The kernels are stored in float32: agreement to its precision, not float64's.
    torch.testing.assert_close(fbank(x), expected, rtol=1e-5, atol=1e-5)


def test_every_mel_band_sees_some_frequencies_in_order():
    assert (mel_filters(80, 256).sum(0) == 0).any()  # too coarse: empty low bands
    assert fft_size(80, 240) == fft_size(80, 400) == 512 and fft_size(128, 400) == 1024
    bands = mel_filters(80, 512)
    assert bands.shape == (257, 80)
    assert (bands.sum(0) > 0).all() and bands.max() <= 1.0
    centres = bands.argmax(0)
    assert (centres[1:] >= centres[:-1]).all() and centres[-1] > 240  # up to ~7.8 kHz
    assert bands[0].sum() == 0  # DC is below the lowest band edge (20 Hz)


@pytest.mark.parametrize(("window", "hop"), [(240, 160), (400, 320), (160, 80)])
def test_frames_are_the_teachers(window, hop):
    torch.manual_seed(0)
    student = build_student("gendistiller-fast-tiny", fbank_window=window, fbank_hop=hop).eval()
    geometry = student.geometry
    assert (geometry.stride, geometry.receptive_field) == (
        STANDARD.stride,
        STANDARD.receptive_field,
    )
    assert geometry == FrameGeometry.from_config(student.config)
    for n in (400, 719, 720, 16000, 12345):
        with torch.no_grad():
            out = student(torch.randn(1, n) * 0.1)
        assert out.hidden_states[0].shape[1] == STANDARD.num_frames(n) == int(out.lengths[0])


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"fbank_window": 400}, "fbank_window must be 240"),
        ({"fbank_hop": 300, "fbank_window": 380}, "fbank_hop"),
        ({"fbank_conv_dim": []}, "fbank_conv_dim"),
        ({"num_mel_bins": 0}, "num_mel_bins"),
        ({"frontend": "wav"}, "frontend"),
        ({"num_conv_pos_embeddings": -1}, "num_conv_pos_embeddings"),
        ({"transformer_stride": 0}, "transformer_stride"),
    ],
)
def test_bad_front_end_configs_name_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key):
        get_preset("gendistiller-fast", **overrides)


def test_filterbank_tensors_are_saved_but_are_no_parameters():
    student = build_student("gendistiller-fast-tiny")
    state = student.state_dict()
    assert "frontend.feature_extractor.fbank.dft" in state
    assert "frontend.feature_extractor.fbank.mel" in state
    names = {name for name, _ in student.named_parameters()}
    assert not any(name.startswith("frontend.feature_extractor.fbank.") for name in names)
