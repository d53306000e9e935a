"""Controls: the degraded teacher's noise is what it says, and run_controls end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gendistiller.encoders import Encoder
from gendistiller.errors import ConfigError
from gendistiller.evaluation.controls import REPROBE_OFFSET, DegradedEncoder, run_controls
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


def test_degraded_noise_is_the_same_alone_or_in_a_batch(tiny_teacher, waves):
    x, lengths = waves
    degraded = DegradedEncoder(tiny_teacher, 0.95, seed=3)
    batched = degraded(x, lengths)
    again = degraded(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = degraded(x[i : i + 1, :n], lengths[i : i + 1])
        t = int(alone.lengths[0])
        for s_batch, s_alone in zip(batched.hidden_states, alone.hidden_states, strict=True):
            torch.testing.assert_close(s_batch[i, :t], s_alone[0], atol=1e-4, rtol=1e-4)
    for a, b in zip(batched.hidden_states, again.hidden_states, strict=True):
        assert torch.equal(a, b)
    other_seed = DegradedEncoder(tiny_teacher, 0.95, seed=4)(x, lengths)
    assert not torch.allclose(other_seed.hidden_states[1], batched.hidden_states[1])


def test_degraded_encoder_is_an_encoder_with_its_own_fingerprint(tiny_teacher):
    degraded = DegradedEncoder(tiny_teacher, 0.98)
    assert isinstance(degraded, Encoder)
    assert degraded.name == f"{tiny_teacher.name}~cos0.98"
    assert degraded.num_hidden_states == tiny_teacher.num_hidden_states
    assert degraded.parameter_count() == tiny_teacher.parameter_count()
    prints = {
        Upstream(m).fingerprint()
        for m in (tiny_teacher, degraded, DegradedEncoder(tiny_teacher, 0.95))
    }
    assert len(prints) == 3  # no feature cache is shared between them
    with pytest.raises(ConfigError, match="cosine must be in"):
        DegradedEncoder(tiny_teacher, 1.5)


def test_run_controls_end_to_end(tiny_teacher, tiny_corpus, tmp_path):
    data = {t: TASKS[t].from_corpus(tiny_corpus).check() for t in ("pr", "sid")}
    recipes = {t: TASKS[t].recipe.with_overrides(steps=20, eval_every=10) for t in data}
    teacher = Upstream(tiny_teacher, name="teacher")
    report = run_controls(
        teacher, data, recipes=recipes, probe_seed=2, cosines=(0.9, 0.5), cache_dir=tmp_path
    )
    json.dumps(report)
    assert report["probe_seed"] == 2 and report["reprobe_seed"] == 2 + REPROBE_OFFSET
    assert report["cosines"] == [0.9, 0.5]
    direct = run_probes(teacher, data, recipes=recipes, seed=2, cache_dir=tmp_path, progress=False)
    again = run_probes(
        teacher, data, recipes=recipes, seed=2 + REPROBE_OFFSET, cache_dir=tmp_path, progress=False
    )
    for task, res in report["tasks"].items():
        assert res["teacher"] == direct[task].test
        names = list(res["controls"])
        assert names == ["teacher (probe seed 102)", "teacher~cos0.9", "teacher~cos0.5"]
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
    assert report["passed"] == all(r["passed"] for r in report["tasks"].values())
    # The teacher's own results, when the caller has them, are not probed again.
    given = {t: r.as_dict() for t, r in direct.items()}
    assert run_controls(
        teacher, data, recipes=recipes, probe_seed=2, cosines=(0.9, 0.5), cache_dir=tmp_path,
        teacher_results=given,
    ) == report  # fmt: skip
    # Three feature caches: the teacher's (shared by both of its probe seeds) and one per copy.
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3
    assert np.isfinite([r["mde"] for r in report["tasks"].values()]).all()
