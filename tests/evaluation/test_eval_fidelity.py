"""Fidelity: linear CKA's properties, per-layer L1/cosine, the heatmap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gendistiller.errors import ConfigError
from gendistiller.evaluation import plots
from gendistiller.evaluation.fidelity import fidelity, linear_cka
from gendistiller.evaluation.statistics import compare_fidelity
from gendistiller.evaluation.superb import Upstream, UpstreamOutput
from gendistiller.students import build_student


def test_linear_cka_invariances():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 16, generator=g)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ q + 5.0) == pytest.approx(
        1.0, abs=1e-6
    )  # rotation, scale, shift
    assert linear_cka(x, torch.randn(500, 8, generator=g)) < 0.1  # independent features
    partial = torch.cat([x[:, :8], torch.randn(500, 8, generator=g)], dim=1)
    assert 0.2 < linear_cka(x, partial) < 0.9
    with pytest.raises(ValueError, match="equal N"):
        linear_cka(x, x[:10])


class Echo(Upstream):
    """A stand-in student whose predictions are the teacher's own layers (plus noise)."""

    def __init__(self, student, teacher: Upstream, noise: float):
        super().__init__(student)
        self.teacher, self.noise = teacher, noise

    def extract(self, waveforms, lengths=None):
        t = self.teacher.extract(waveforms, lengths)
        preds = [
            t.hidden_states[layer] + self.noise * torch.randn_like(t.hidden_states[layer])
            for layer in self.target_layers
        ]
        return UpstreamOutput([t.hidden_states[0], *preds], t.lengths, preds)


@pytest.fixture(scope="module")
def waves():
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (16000, 9000, 12000)]


def test_fidelity_of_a_perfect_and_a_noisy_student(tiny_teacher, waves, tmp_path):
    teacher = Upstream(tiny_teacher, name="teacher")
    student = build_student("gendistiller-tiny")
    perfect = fidelity(Echo(student, teacher, 0.0), teacher, waves, max_frames=20, batch_size=2)
    assert perfect.l1 == [0.0, 0.0] and perfect.cosine == pytest.approx([1.0, 1.0], abs=1e-5)
    # State k+1 of this stand-in is teacher layer target_layers[k]: CKA 1 there.
    for k, layer in enumerate(perfect.target_layers):
        assert perfect.similarity[k + 1][layer] == pytest.approx(1.0, abs=1e-3)
    assert perfect.state_targets == [None, *perfect.target_layers]
    assert perfect.utterances == 3 and perfect.frames == sum(
        (len(w) - 400) // 320 + 1 for w in waves
    )
    assert perfect.similarity_frames == 20  # capped
    noisy = fidelity(Echo(student, teacher, 0.5), teacher, waves)
    assert all(n > 0.1 for n in noisy.l1) and all(c < 0.99 for c in noisy.cosine)

    real = fidelity(Upstream(student, name="student"), teacher, waves, metric="cosine")
    assert len(real.similarity) == 3 and len(real.similarity[0]) == teacher.num_hidden_states
    plots.similarity_heatmap(
        real.similarity,
        tmp_path / "h.png",
        title="t",
        metric="cosine",
        student_labels=["x0", "h1", "h2"],
        state_targets=real.state_targets,
    )
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_fidelity_refuses_mismatched_pairs(tiny_teacher, waves):
    teacher = Upstream(tiny_teacher)
    with pytest.raises(ConfigError, match="not a student"):
        fidelity(teacher, teacher, waves)
    wide = Upstream(
        build_student("gendistiller-tiny", hidden_size=64, num_conv_pos_embedding_groups=2)
    )
    with pytest.raises(ConfigError, match="not a distillation pair"):
        fidelity(wide, teacher, waves)
    deep = Upstream(build_student("gendistiller-tiny", target_layers=(1, 5)))
    with pytest.raises(ConfigError, match="only layers 0..2"):
        fidelity(deep, teacher, waves)


def test_fidelity_items_per_utterance_pair_two_students(tiny_teacher, waves):
    teacher = Upstream(tiny_teacher, name="teacher")
    student = build_student("gendistiller-tiny")
    ids = ["u1", "u2", "u3"]
    close = fidelity(Echo(student, teacher, 0.2), teacher, waves, batch_size=2, ids=ids)
    items = close.items
    assert items["ids"] == ids and items["layers"] == close.target_layers
    assert items["frames"] == [(len(w) - 400) // 320 + 1 for w in waves]
    cos = np.asarray(items["cosine"])  # [utterances, target layers]
    frames = np.asarray(items["frames"], dtype=float)
    np.testing.assert_allclose(frames @ cos / frames.sum(), close.cosine, atol=1e-4)
    assert fidelity(Echo(student, teacher, 0.2), teacher, waves).items["ids"] == ["0", "1", "2"]
    far = fidelity(Echo(student, teacher, 1.0), teacher, waves, ids=ids)
    d = compare_fidelity([close], [far.as_dict()], close.target_layers[-1], replicates=200)
    assert d.diff == pytest.approx(100 * (close.cosine[-1] - far.cosine[-1]), abs=0.01)
    assert d.diff > 0
    with pytest.raises(ConfigError, match="2 ids for 3 utterances"):
        fidelity(Echo(student, teacher, 0.2), teacher, waves, ids=ids[:2])
