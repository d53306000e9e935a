"""The light front-end: log-mel filterbanks computed inside the model, then a small
frame-level convolution (``frontend: fbank``).

A waveform goes in, as with the CNN, so every contract (SUPERB upstream, ONNX with the
front-end in the graph, chunked features) is unchanged. The short-time Fourier transform
is a fixed convolution whose kernels are the windowed cosines and sines of the DFT (an
ONNX ``Conv``, exported and run like any other, kept in float by the int8 quantiser), the
mel filterbank a fixed matrix product. Both are buffers derived from the config, saved
with the weights so that every loader gets them, and counted as no parameters.

Frames: windows of ``fbank_window`` samples every ``fbank_hop``; ``320 / fbank_hop`` of
them are stacked into one 20 ms frame by the first convolution (kernel = stride = the
stack), so frame ``t`` sees samples ``[320 t, 320 t + 400)``, the teacher's frame ``t``
(:meth:`gendistiller.encoders.FrameGeometry.from_config`). Each band's mean over the
utterance's valid windows is subtracted (:class:`BandMeanNorm`), so padding changes
nothing and a full-length batch takes the plain mean.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gendistiller.encoders.geometry import FrameGeometry, lengths_to_mask

SAMPLE_RATE = 16000
#: Lowest band edge in Hz (Kaldi's default: below it is mostly hum and DC).
LOW_FREQ = 20.0
#: Added to the mel energies before the log (about -14 in log units: far below speech).
LOG_FLOOR = 1e-6


def hz_to_mel(f: Tensor) -> Tensor:
    return 1127.0 * torch.log1p(f / 700.0)


def mel_filters(num_bins: int, n_fft: int, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """``[n_fft // 2 + 1, num_bins]`` triangles equally spaced on the mel scale from
    ``LOW_FREQ`` to Nyquist, evaluated on the mel value of each DFT bin (as Kaldi does)."""
    f64 = dict(dtype=torch.float64, device="cpu")  # computed on the CPU whatever the default
    freqs = torch.arange(n_fft // 2 + 1, **f64) * sample_rate / n_fft
    mel = hz_to_mel(freqs)
    lo = hz_to_mel(torch.tensor(LOW_FREQ, **f64))
    hi = hz_to_mel(torch.tensor(sample_rate / 2, **f64))
    edges = torch.linspace(float(lo), float(hi), num_bins + 2, **f64)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]
    up = (mel[:, None] - left) / (centre - left)
    down = (right - mel[:, None]) / (right - centre)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


def dft_kernels(window: int, n_fft: int) -> Tensor:
    """``[2 * (n_fft // 2 + 1), 1, window]``: Hann-windowed cosines then sines of the DFT of
    size ``n_fft`` (the window zero-padded to it), as one convolution's kernels."""
    f64 = dict(dtype=torch.float64, device="cpu")
    n = torch.arange(window, **f64)
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * n / window)  # periodic Hann
    k = torch.arange(n_fft // 2 + 1, **f64)[:, None]
    angle = 2 * math.pi * k * n[None, :] / n_fft
    kernels = torch.cat([torch.cos(angle), -torch.sin(angle)]) * hann
    return kernels[:, None, :].float()


def fft_size(num_bins: int, window: int) -> int:
    """The smallest power of two that holds the window and puts a DFT bin in every band
    (the window zero-padded: 80 bands need 512, since their lowest are 22 Hz apart)."""
    n_fft = 1 << (window - 1).bit_length()
    while (mel_filters(num_bins, n_fft).sum(0) == 0).any() and n_fft < 1 << 15:
        n_fft *= 2
    return n_fft


class LogMelFilterbank(nn.Module):
    """``[B, N]`` waveform -> ``[B, num_bins, windows]`` log mel energies."""

    def __init__(self, num_bins: int, window: int, hop: int):
        super().__init__()
        self.hop = hop
        n_fft = fft_size(num_bins, window)
        device = torch.empty(0).device  # the default device (meta when sizing a model)
        self.register_buffer("dft", dft_kernels(window, n_fft).to(device))
        self.register_buffer("mel", mel_filters(num_bins, n_fft).to(device))

    def forward(self, waveforms: Tensor) -> Tensor:
        spec = F.conv1d(waveforms[:, None, :], self.dft, stride=self.hop)
        re, im = spec.chunk(2, dim=1)
        power = (re * re + im * im).transpose(1, 2)  # [B, windows, freqs]
        return torch.log(power @ self.mel + LOG_FLOOR).transpose(1, 2)


class BandMeanNorm(nn.Module):
    """Each band's mean over an utterance's valid windows subtracted (cepstral mean
    normalisation), then a learned scale and offset per band. A gain on the waveform adds
    a constant to every log-mel, which this removes exactly: the student is as
    insensitive to level as the teacher, whose CNN starts with a group norm over time.
    No variance normalisation: it adds nothing to that invariance, and a band without
    energy (band-limited or silent audio) has a variance near 0 that would turn rounding
    noise into features."""

    def __init__(self, bands: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(bands))
        self.bias = nn.Parameter(torch.zeros(bands))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``[B, bands, windows]``; ``mask`` ``[B, windows]`` marks the valid ones (None: all)."""
        if mask is None:
            mean = x.mean(dim=-1, keepdim=True)
        else:
            m = mask[:, None, :].to(x.dtype)
            mean = (x * m).sum(dim=-1, keepdim=True) / m.sum(dim=-1, keepdim=True).clamp(min=1.0)
        return (x - mean) * self.weight[None, :, None] + self.bias[None, :, None]


class FbankFeatureExtractor(nn.Module):
    """Log-mels, per-utterance mean removal, then ``fbank_conv_dim`` convolutions with GELU:
    the first stacks the windows of one frame, the others mix channels per frame.
    ``[B, N]`` samples -> ``[B, C, T]`` features, ``C = fbank_conv_dim[-1]``."""

    def __init__(self, config) -> None:
        super().__init__()
        self.geometry = FrameGeometry.from_config(config)
        self.windows = self.geometry.first
        stack = self.geometry.stride // config.fbank_hop
        self.fbank = LogMelFilterbank(config.num_mel_bins, config.fbank_window, config.fbank_hop)
        self.norm = BandMeanNorm(config.num_mel_bins)
        dims = [config.num_mel_bins, *config.fbank_conv_dim]
        self.conv_layers = nn.ModuleList(
            nn.Conv1d(dims[i], dims[i + 1], kernel_size=stack if i == 0 else 1, stride=stack if i == 0 else 1)
            for i in range(len(dims) - 1)
        )  # fmt: skip
        self.output_dim = dims[-1]

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return self.geometry.output_lengths(lengths)

    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> Tensor:
        x = self.fbank(waveforms)
        mask = None
        if lengths is not None:
            mask = lengths_to_mask(self.windows.output_lengths(lengths), x.shape[-1])
        x = self.norm(x, mask)
        for conv in self.conv_layers:
            x = F.gelu(conv(x))
        return x
