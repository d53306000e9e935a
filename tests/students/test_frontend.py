"""Every front-end option, for both students: forward and backward, padding invariance,
and the full-length fast path computing what the masked path computes."""

import pytest
import torch

from gendistiller.students import base, build_student
from gendistiller.students.components import MaskedGroupNorm
from gendistiller.students.fbank import BandMeanNorm

FBANK = {"frontend": "fbank", "fbank_conv_dim": [32, 32]}
OPTIONS = {
    "conv": ("tiny", {}),
    "fbank": ("tiny", FBANK),
    "fbank-25ms-windows": ("tiny", {**FBANK, "fbank_window": 400, "fbank_hop": 320}),
    "no-pos-conv": ("tiny", {"num_conv_pos_embeddings": 0}),
    "40ms-inside": ("tiny", {"transformer_stride": 2}),
    "60ms-inside": ("tiny", {"transformer_stride": 3}),
    "fast": ("fast-tiny", {}),
}
#: GenDistiller's v1 history attends over every earlier layer: padding must stay out too.
HISTORY_ALL = ("tiny", {"history": "all", "target_layers": [1, 2, 3]})
CASES = [(kind, option) for kind in ("gendistiller", "distilhubert") for option in OPTIONS]
#: The architectural switches beyond the paper (docs/method.md), with either history.
BEYOND = {"step_embedding": True, "per_step_output_projection": True, "target_layers": [1, 2, 3]}
CASES += [("gendistiller", "history-all"), ("gendistiller", "history-all-fast")]
CASES += [("gendistiller", "beyond"), ("gendistiller", "beyond-history-all")]


def _student(kind: str, option: str):
    extra = {"history-all": HISTORY_ALL, "history-all-fast": ("fast-tiny", HISTORY_ALL[1])}
    extra |= {
        "beyond": ("tiny", BEYOND),
        "beyond-history-all": ("tiny", {**BEYOND, "history": "all"}),
    }
    size, overrides = {**OPTIONS, **extra}[option]
    torch.manual_seed(0)
    model = build_student(f"{kind}-{size}", **overrides)
    if getattr(model, "generator", None) is not None and model.generator.step_embedding is not None:
        with torch.no_grad():  # off its zero start, so that it shows
            model.generator.step_embedding.normal_(0.0, 0.5)
    if model.frame_rate is not None:  # off its initial mean/repeat, so that merging shows
        with torch.no_grad():
            for p in model.frame_rate.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return model


@pytest.mark.parametrize(("kind", "option"), CASES)
def test_forward_and_backward(kind, option, waves):
    model = _student(kind, option).train()
    x, lengths = waves
    out = model(x, lengths)
    assert all(h.shape == (3, 49, 32) for h in out.hidden_states)
    assert len(out.hidden_states) == model.num_hidden_states
    sum(p.pow(2).mean() for p in out.predictions).backward()
    front = [p.grad for p in model.frontend.feature_extractor.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in front)
    assert all(g.abs().sum() > 0 for g in front)


@pytest.mark.parametrize(("kind", "option"), CASES)
def test_padding_invariance(kind, option, waves):
    model = _student(kind, option).eval()
    x, lengths = waves
    with torch.no_grad():
        batch = model(x, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = model(x[i : i + 1, :n])
            t = int(batch.lengths[i])
            assert alone.hidden_states[0].shape[1] == t
            for b, a in zip(batch.hidden_states, alone.hidden_states, strict=True):
                torch.testing.assert_close(b[i, :t], a[0], rtol=1e-4, atol=1e-4)
                assert not b[i, t:].any()


@pytest.mark.parametrize(("kind", "option"), CASES)
def test_full_length_batches_take_the_plain_path_and_compute_the_same(kind, option, monkeypatch):
    model = _student(kind, option).eval()
    x = torch.randn(2, 12_345, generator=torch.Generator().manual_seed(3)) * 0.1
    full = torch.tensor([12_345, 12_345])
    masks = []
    for norm in (MaskedGroupNorm, BandMeanNorm):  # the two norms over time

        def spy(self, h, mask=None, plain=norm.forward):
            masks.append(mask)
            return plain(self, h, mask)

        monkeypatch.setattr(norm, "forward", spy)
    with torch.no_grad():
        fast = model(x, full)
        assert masks and all(m is None for m in masks)  # the plain norm
        masks.clear()
        monkeypatch.setattr(base, "full_length", lambda lengths, samples: False)
        masked = model(x, full)
        assert masks and all(m is not None for m in masks)  # the padding-aware one
    assert torch.equal(fast.lengths, masked.lengths)
    for a, b in zip(fast.hidden_states, masked.hidden_states, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_only_full_length_batches_count_as_full_and_never_in_a_graph(monkeypatch):
    assert base.full_length(torch.tensor([800, 800]), 800)
    assert not base.full_length(torch.tensor([800, 799]), 800)
    # An exported graph reads no tensor values: it keeps the masked path, exact for all.
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
    assert not base.full_length(torch.tensor([800, 800]), 800)
