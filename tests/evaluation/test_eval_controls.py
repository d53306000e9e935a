"""Controls: the degraded teacher's noise is what it says, and run_controls end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gendistiller.encoders import Encoder
from gendistiller.errors import ConfigError
from gendistiller.evaluation.controls import (
    REPROBE_OFFSET,
    DegradedEncoder,
    _item_seed,
    control_set,
    run_controls,
)
from gendistiller.evaluation.probes import TASKS, run_probes
from gendistiller.evaluation.superb import Upstream


@pytest.mark.parametrize("cosine", [0.98, 0.95, 0.9])
def test_degraded_states_have_the_target_cosine_and_zero_padding(tiny_teacher, waves, cosine):
    x, lengths = waves
    base = tiny_teacher(x, lengths)
    out = DegradedEncoder(tiny_teacher, cosine)(x, lengths)
    assert len(out.hidden_states) == len(base.hidden_states)
    assert torch.equal(out.lengths, base.lengths)
    valid = torch.arange(base.hidden_states[0].shape[1])[None] < base.lengths[:, None]
    for s, b in zip(out.hidden_states, base.hidden_states, strict=True):
        measured = F.cosine_similarity(s[valid], b[valid], dim=-1).mean()
        # In expectation for many dims; with these 32-d states the mean is within 0.01
        # (at lower cosines it drifts up: |x + n| varies, 0.61 measured for 0.6).
        assert float(measured) == pytest.approx(cosine, abs=0.01)
        assert not s[~valid].any()


def _many_waves(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch of ``n`` utterances: utterance noise has one direction per utterance,
    so its mean cosine settles over utterances, not frames (three are too few for 0.01)."""
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(4000, 16000, (n,), generator=g)
    x = torch.randn(n, 16000, generator=g) * 0.1
    for i, k in enumerate(lengths.tolist()):
        x[i, k:] = 0.0
    return x, lengths


def _pooled_cosines(out, base) -> torch.Tensor:
    """Per hidden state and utterance: cos(mean of the copy's frames, mean of the original's)."""
    return torch.tensor([
        float(F.cosine_similarity(s[i, :n].mean(0), b[i, :n].mean(0), dim=0))
        for s, b in zip(out.hidden_states, base.hidden_states, strict=True)
        for i, n in enumerate(base.lengths.tolist())
    ])  # fmt: skip


@pytest.mark.parametrize("cosine", [0.98, 0.95, 0.9])
def test_utterance_noise_has_the_target_cosine_per_frame_and_survives_pooling(tiny_teacher, cosine):
    x, lengths = _many_waves()
    base = tiny_teacher(x, lengths)
    utt = DegradedEncoder(tiny_teacher, cosine, noise="utterance")(x, lengths)
    frame = DegradedEncoder(tiny_teacher, cosine)(x, lengths)
    valid = torch.arange(base.hidden_states[0].shape[1])[None] < base.lengths[:, None]
    per_frame = torch.stack([
        F.cosine_similarity(s[valid], b[valid], dim=-1)
        for s, b in zip(utt.hidden_states, base.hidden_states, strict=True)
    ])  # fmt: skip
    assert float(per_frame.mean()) == pytest.approx(cosine, abs=0.01)
    assert all(not s[~valid].any() for s in utt.hidden_states)
    # Mean pooling (the SID and KS probes): frame noise averages away, the pooled copy is
    # much nearer the original than c; one direction per utterance does not average away.
    pooled_frame, pooled_utt = _pooled_cosines(frame, base), _pooled_cosines(utt, base)
    assert 1 - float(pooled_frame.mean()) < (1 - cosine) / 2
    assert float(pooled_utt.mean()) < cosine + 0.01
    # Exactly: the pooled noise is |x| scaled, so its angle's tangent is tan(acos c) times
    # r = mean |x_t| / |mean x_t| (>= 1; 1 when the frames point the same way).
    r = torch.tensor([
        float(b[i, :n].norm(dim=-1).mean() / b[i, :n].mean(0).norm())
        for b in base.hidden_states for i, n in enumerate(base.lengths.tolist())
    ])  # fmt: skip
    predicted = 1 / torch.sqrt(1 + r**2 * (1 / cosine**2 - 1))
    assert float(pooled_utt.mean()) == pytest.approx(float(predicted.mean()), abs=0.03)


def test_frame_noise_is_as_before_kinds_existed(tiny_teacher, waves):
    """The frame kind's buffer and outputs are bit for bit those of the encoder before
    kinds existed (so the published run's feature caches stay valid): pinned here by the
    old algorithm, a new normal draw per frame."""
    x, lengths = waves
    degraded = DegradedEncoder(tiny_teacher, 0.95, seed=3)
    assert torch.equal(degraded.degradation, torch.tensor([0.95, 3.0], dtype=torch.float64))
    assert degraded.state_dict().keys() == {
        *(f"base.{k}" for k in tiny_teacher.state_dict()),
        "degradation",
    }
    assert (
        Upstream(degraded).fingerprint()
        == Upstream(DegradedEncoder(tiny_teacher, 0.95, seed=3, noise="frame")).fingerprint()
    )
    out, base = degraded(x, lengths), tiny_teacher(x, lengths)
    scale = (1 / 0.95**2 - 1) ** 0.5 / tiny_teacher.hidden_size**0.5
    for b, n in enumerate(base.lengths.tolist()):
        gen = torch.Generator().manual_seed(_item_seed(x[b, : int(lengths[b])], 3))
        noise = torch.randn(len(base.hidden_states), n, tiny_teacher.hidden_size, generator=gen)
        for s, o, z in zip(out.hidden_states, base.hidden_states, noise, strict=True):
            x_b = o[b, :n]
            assert torch.equal(s[b, :n], x_b + z * x_b.norm(dim=-1, keepdim=True) * scale)


@pytest.mark.parametrize("noise", ["frame", "utterance"])
def test_degraded_noise_is_the_same_alone_or_in_a_batch(tiny_teacher, waves, noise):
    x, lengths = waves
    degraded = DegradedEncoder(tiny_teacher, 0.95, seed=3, noise=noise)
    batched = degraded(x, lengths)
    again = degraded(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = degraded(x[i : i + 1, :n], lengths[i : i + 1])
        t = int(alone.lengths[0])
        for s_batch, s_alone in zip(batched.hidden_states, alone.hidden_states, strict=True):
            torch.testing.assert_close(s_batch[i, :t], s_alone[0], atol=1e-4, rtol=1e-4)
    for a, b in zip(batched.hidden_states, again.hidden_states, strict=True):
        assert torch.equal(a, b)
    other_seed = DegradedEncoder(tiny_teacher, 0.95, seed=4, noise=noise)(x, lengths)
    assert not torch.allclose(other_seed.hidden_states[1], batched.hidden_states[1])


def test_degraded_encoder_is_an_encoder_with_its_own_fingerprint(tiny_teacher):
    degraded = DegradedEncoder(tiny_teacher, 0.98)
    assert isinstance(degraded, Encoder)
    assert degraded.name == f"{tiny_teacher.name}~cos0.98"
    assert degraded.num_hidden_states == tiny_teacher.num_hidden_states
    assert degraded.parameter_count() == tiny_teacher.parameter_count()
    utt = DegradedEncoder(tiny_teacher, 0.98, noise="utterance")
    assert utt.name == f"{tiny_teacher.name}~utt0.98"
    prints = {
        Upstream(m).fingerprint()
        for m in (tiny_teacher, degraded, DegradedEncoder(tiny_teacher, 0.95), utt)
    }
    assert len(prints) == 4  # no feature cache is shared between them
    with pytest.raises(ConfigError, match="cosine must be in"):
        DegradedEncoder(tiny_teacher, 1.5)
    with pytest.raises(ConfigError, match="noise must be one of frame, utterance, got 'clip'"):
        DegradedEncoder(tiny_teacher, 0.9, noise="clip")


def test_run_controls_end_to_end(tiny_teacher, tiny_corpus, tmp_path):
    data = {t: TASKS[t].from_corpus(tiny_corpus).check() for t in ("pr", "sid")}
    recipes = {t: TASKS[t].recipe.with_overrides(steps=20, eval_every=10) for t in data}
    teacher = Upstream(tiny_teacher, name="teacher")
    with pytest.raises(ConfigError, match="noise must be one of"):  # before any probe
        run_controls(teacher, data, recipes=recipes, probe_seed=2, kinds=("frame", "clip"))
    kinds = ("frame", "utterance")
    report = run_controls(
        teacher, data, recipes=recipes, probe_seed=2, cosines=(0.9, 0.5), kinds=kinds,
        cache_dir=tmp_path,
    )  # fmt: skip
    json.dumps(report)
    assert report["probe_seed"] == 2 and report["reprobe_seed"] == 2 + REPROBE_OFFSET
    assert report["cosines"] == [0.9, 0.5] and report["kinds"] == list(kinds)
    assert control_set(report) == {(k, c) for k in kinds for c in (0.9, 0.5)}
    direct = run_probes(teacher, data, recipes=recipes, seed=2, cache_dir=tmp_path, progress=False)
    again = run_probes(
        teacher, data, recipes=recipes, seed=2 + REPROBE_OFFSET, cache_dir=tmp_path, progress=False
    )
    for task, res in report["tasks"].items():
        assert res["teacher"] == direct[task].test
        names = list(res["controls"])
        assert names == ["teacher (probe seed 102)", "teacher~cos0.9", "teacher~cos0.5",
                         "teacher~utt0.9", "teacher~utt0.5"]  # fmt: skip
        assert [(r["kind"], r["cosine"]) for r in res["controls"].values()] == [
            (None, None),
            ("frame", 0.9),
            ("frame", 0.5),
            ("utterance", 0.9),
            ("utterance", 0.5),
        ]
        reprobe = res["controls"][names[0]]
        assert reprobe["score"] == again[task].test and reprobe["expected"] == "tie"
        for name, row in res["controls"].items():
            d = row["difference"]
            # Teacher minus control, on the task's test items.
            assert d["diff"] == pytest.approx(res["teacher"] - row["score"], abs=2e-3)
            assert d["n_items"] == len(data[task].test)
            assert row["passed"] == (row["verdict"] == row["expected"])
            if name != names[0]:
                assert row["expected"] == "better"
        assert res["mde"] == reprobe["difference"]["mde"] > 0 or reprobe["difference"]["se"] == 0
        assert res["passed"] == (
            res["ordered"] and all(r["passed"] for r in res["controls"].values())
        )
        # Ordered within each kind: the loss at 0.5 exceeds that at 0.9, per kind.
        loss = {(r["kind"], r["cosine"]): r["difference"]["diff"] * (-1 if res["lower_is_better"] else 1)
                for r in res["controls"].values() if r["kind"]}  # fmt: skip
        assert res["ordered"] == all(loss[k, 0.9] < loss[k, 0.5] for k in kinds)
    assert report["passed"] == all(r["passed"] for r in report["tasks"].values())
    # The teacher's own results, when the caller has them, are not probed again.
    given = {t: r.as_dict() for t, r in direct.items()}
    assert run_controls(
        teacher, data, recipes=recipes, probe_seed=2, cosines=(0.9, 0.5), kinds=kinds,
        cache_dir=tmp_path, teacher_results=given,
    ) == report  # fmt: skip
    # Five feature caches: the teacher's (shared by both of its probe seeds) and one per copy.
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 5
    assert np.isfinite([r["mde"] for r in report["tasks"].values()]).all()


def test_control_set_reads_results_written_before_kinds_existed():
    row = {"score": 1.0, "difference": {}, "expected": "better"}
    old = {"tasks": {"pr": {"controls": {"t (probe seed 100)": {**row, "cosine": None},
                                         "t~cos0.98": {**row, "cosine": 0.98}}}}}  # fmt: skip
    assert control_set(old) == {("frame", 0.98)}
