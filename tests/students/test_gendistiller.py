import itertools

import pytest
import torch

from gendistiller.students import build_student


def _student(**overrides):
    torch.manual_seed(0)
    return build_student("gendistiller-tiny", **overrides)


SWITCHES = [
    dict(
        history=h, shared_weights=s, skip_connection=k, output_projection=o, teacher_forcing_ratio=t
    )
    for h, s, k, o, t in itertools.product(
        ["previous", "all"], [True, False], [True, False], [True, False], [0.0, 0.5]
    )
]


@pytest.mark.parametrize(
    "switches", SWITCHES, ids=lambda d: "-".join(f"{k[:4]}={v}" for k, v in d.items())
)
def test_every_switch_runs_forward_and_backward(switches, waves):
    model = _student(target_layers=[1, 2, 3], **switches).train()
    x, lengths = waves
    teacher_states = [torch.randn(3, 49, 32) for _ in range(4)]
    out = model(x, lengths, teacher_states=teacher_states)
    assert len(out.predictions) == 3
    assert len(out.hidden_states) == 4 == model.num_hidden_states
    assert all(h.shape == (3, 49, 32) for h in out.hidden_states)
    loss = sum(p.pow(2).mean() for p in out.predictions)
    loss.backward()
    grads = [p.grad for p in model.generator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_per_step_weights_have_one_block_per_target():
    shared = _student(target_layers=[1, 2, 3])
    per_step = _student(target_layers=[1, 2, 3], shared_weights=False)
    assert len(shared.generator.blocks) == 1 and len(per_step.generator.blocks) == 3
    assert per_step.parameter_count() > shared.parameter_count()


def test_switches_change_the_architecture():
    base = _student().parameter_count()
    assert _student(output_projection=False).parameter_count() == base - (32 * 32 + 32)


def test_inference_runs_free_without_teacher(waves):
    model = _student(teacher_forcing_ratio=1.0).eval()
    x, lengths = waves
    with torch.no_grad():
        free = model(x, lengths)
        ignored = model(x, lengths, teacher_states=[torch.randn(3, 49, 32) * 50 for _ in range(3)])
    for a, b in zip(free.hidden_states, ignored.hidden_states, strict=True):
        torch.testing.assert_close(a, b)


def test_teacher_forcing_feeds_the_teacher_layer_while_training(waves):
    x, lengths = waves
    teacher = [torch.randn(3, 49, 32) for _ in range(3)]
    model = _student(
        teacher_forcing_ratio=1.0, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0
    )
    model.train()
    forced = model(x, lengths, teacher_states=teacher)
    # Step 2 with skip connection: h2 = proj(block(input)) + input, input = teacher layer 1.
    block, proj = model.generator.step_modules(1)
    frames_mask = torch.arange(49)[None] < forced.lengths[:, None]
    expected = proj(block(teacher[1], frames_mask)) + teacher[1]
    torch.testing.assert_close(forced.predictions[1], expected)
    free = model(x, lengths)  # no teacher: free running even in training mode
    assert not torch.allclose(free.predictions[1], forced.predictions[1])


def test_history_all_attends_to_earlier_layers(waves):
    x, lengths = waves
    torch.manual_seed(1)
    v2 = _student(target_layers=[1, 2, 3]).eval()
    v1 = _student(target_layers=[1, 2, 3], history="all").eval()
    v1.load_state_dict(v2.state_dict())
    with torch.no_grad():
        a, b = v2(x, lengths), v1(x, lengths)
    # Same weights: step 1 sees only x0 in both, later steps differ by their history.
    torch.testing.assert_close(a.predictions[0], b.predictions[0])
    assert not torch.allclose(a.predictions[2], b.predictions[2], atol=1e-4)


# Padding invariance, for every history mode and front-end: tests/students/test_frontend.py.
