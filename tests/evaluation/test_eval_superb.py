"""The s3prl upstream contract, for both students and the teacher wrapper."""

from __future__ import annotations

import pytest
import torch

from gendistiller.errors import CheckpointError
from gendistiller.evaluation.superb import STUDENT, TEACHER, Upstream, UpstreamExpert, load_upstream
from gendistiller.students import build_student

LENGTHS = [16000, 11000, 6400, 400]


def frames(n: int) -> int:
    return (n - 400) // 320 + 1


@pytest.fixture(scope="module")
def upstreams(tiny_teacher):
    torch.manual_seed(0)
    return {
        "gendistiller": Upstream(build_student("gendistiller-tiny")),
        "distilhubert": Upstream(build_student("distilhubert-tiny")),
        "gendistiller-fast": Upstream(build_student("gendistiller-fast-tiny")),
        "distilhubert-fast": Upstream(build_student("distilhubert-fast-tiny")),
        "teacher": Upstream(tiny_teacher),
        # the architectural switches beyond the paper (docs/method.md)
        "gendistiller-beyond": Upstream(
            build_student("gendistiller-tiny", step_embedding=True, per_step_output_projection=True)
        ),
    }


UPSTREAMS = ["gendistiller", "distilhubert", "gendistiller-fast", "distilhubert-fast", "teacher"]
UPSTREAMS += ["gendistiller-beyond"]


@pytest.fixture(scope="module")
def wavs():
    g = torch.Generator().manual_seed(1)
    return [torch.randn(n, generator=g) * 0.1 for n in LENGTHS]


@pytest.mark.parametrize("name", UPSTREAMS)
def test_list_form_shapes_width_stride_and_frames(upstreams, wavs, name):
    up = upstreams[name]
    out = up(wavs)
    assert isinstance(out, dict) and isinstance(out["hidden_states"], list)
    states = out["hidden_states"]
    assert len(states) == up.num_hidden_states == up.num_layers >= 3
    assert {tuple(s.shape) for s in states} == {(len(wavs), frames(max(LENGTHS)), up.hidden_size)}
    assert torch.equal(out["last_hidden_state"], states[-1])
    assert up.get_downsample_rates("hidden_states") == 320
    assert up.hidden_sizes == [up.hidden_size] * up.num_hidden_states
    assert up.downsample_rates == [320] * up.num_hidden_states
    # Padded batch vs single utterance: same valid frames, zeros beyond.
    for i, w in enumerate(wavs):
        alone = up([w])["hidden_states"]
        n = frames(w.shape[0])
        for batched, single in zip(states, alone, strict=True):
            assert single.shape[1] == n
            torch.testing.assert_close(batched[i, :n], single[0], atol=1e-4, rtol=1e-4)
            assert not batched[i, n:].any()


@pytest.mark.parametrize("name", UPSTREAMS)
def test_padded_form_matches_list_form(upstreams, wavs, name):
    up = upstreams[name]
    padded = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    lens = torch.tensor(LENGTHS)
    states, state_lens = up(padded.unsqueeze(-1), lens)  # s3prl also passes [B, N, 1]
    listed = up(wavs)["hidden_states"]
    assert len(states) == len(state_lens) == up.num_hidden_states
    for s, s_len, ref in zip(states, state_lens, listed, strict=True):
        assert s_len.tolist() == [frames(n) for n in LENGTHS]
        assert s.shape[1] == int(s_len.max())
        torch.testing.assert_close(s, ref[:, : s.shape[1]])
    with pytest.raises(TypeError, match="wavs_len"):
        up(padded)


def test_kinds_and_frozen(upstreams):
    assert upstreams["teacher"].kind == TEACHER and upstreams["gendistiller"].kind == STUDENT
    up = upstreams["gendistiller"]
    up.train()
    assert not up.training and not up.model.training
    assert not any(p.requires_grad for p in up.parameters())
    with pytest.raises(ValueError, match="1-D"):
        up([torch.zeros(2, 16000)])
    with pytest.raises(ValueError, match="at least 400"):
        up([torch.zeros(399)])


def test_load_upstream_resolves_every_kind_of_spec(tmp_path):
    student = build_student("distilhubert-tiny")
    student.save_pretrained(tmp_path / "run" / "student")
    x = torch.randn(1, 8000)
    from_folder = load_upstream(tmp_path / "run" / "student")
    from_run = load_upstream(tmp_path / "run")
    assert from_folder.kind == from_run.kind == STUDENT
    expected = student.eval()(x).hidden_states[-1]
    torch.testing.assert_close(from_run.extract(x).hidden_states[-1], expected)
    assert from_folder.fingerprint() == from_run.fingerprint()
    preset = load_upstream("gendistiller-tiny", seed=3)
    assert (
        preset.kind == STUDENT
        and preset.fingerprint() == load_upstream("gendistiller-tiny", seed=3).fingerprint()
    )
    assert preset.fingerprint() != load_upstream("gendistiller-tiny", seed=4).fingerprint()
    teacher = load_upstream("random:hubert-tiny")
    assert teacher.kind == TEACHER and teacher.num_hidden_states == 3
    with pytest.raises(CheckpointError, match="no config.json"):
        load_upstream(tmp_path)


def test_upstream_expert_is_what_s3prl_hub_builds(tmp_path):
    build_student("gendistiller-tiny").save_pretrained(tmp_path / "s")
    expert = UpstreamExpert(str(tmp_path / "s"), model_config=None, refresh=False)
    out = expert([torch.randn(16000), torch.randn(8000)])
    assert len(out["hidden_states"]) == 3 and expert.get_downsample_rates("hidden_states") == 320
