import itertools
import re

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


# --- beyond the paper: switches off by default (docs/method.md, "Beyond the paper") ----

#: Every switch beyond the paper at its off value.
OFF = dict(
    step_embedding=False,
    per_step_output_projection=False,
    teacher_forcing_schedule="constant",
    teacher_forcing_final_ratio=0.0,
    teacher_forcing_noise=0.0,
    output_adapter_rank=0,
    expose_block_outputs=False,
)
#: Each switch on, alone (the noise needs teacher forcing, which every case has).
BEYOND = {
    "step-embedding": dict(step_embedding=True),
    "per-step-outproj": dict(per_step_output_projection=True),
    "scheduled": dict(teacher_forcing_schedule="linear", teacher_forcing_final_ratio=0.0),
    "noise": dict(teacher_forcing_noise=0.3),
    "adapters": dict(output_adapter_rank=4),
    "exposed": dict(expose_block_outputs=True),
    "all": dict(
        step_embedding=True,
        per_step_output_projection=True,
        teacher_forcing_noise=0.3,
        expose_block_outputs=True,
    ),
    # the output adapters exclude per-step projections: the other combination
    "all-adapters": dict(step_embedding=True, output_adapter_rank=4, teacher_forcing_noise=0.3),
}
NO_DROPOUT = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0)


def _perturbed(model):
    """Off the zero-initialised step embedding and adapters, so that they show in every
    output."""
    gen = model.generator
    with torch.no_grad():
        if gen.step_embedding is not None:
            gen.step_embedding.copy_(torch.randn(gen.step_embedding.shape) * 0.5)
        for adapter in gen.output_adapters or ():
            adapter.up.copy_(torch.randn(adapter.up.shape) * 0.5)
    return model


def test_all_switches_off_is_the_papers_model_bit_for_bit(waves):
    from gendistiller.loss import DistillationLoss

    x, lengths = waves
    teacher = [torch.randn(3, 49, 32, generator=torch.Generator().manual_seed(k)) for k in range(4)]
    runs = []
    for switches in ({}, OFF):
        model = _student(target_layers=[1, 2, 3], teacher_forcing_ratio=0.5, **switches).train()
        torch.manual_seed(5)  # the dropout and teacher-forcing draws
        out = model(x, lengths, teacher_states=teacher)
        loss = DistillationLoss()(out.predictions, teacher[1:])
        loss.total.backward()
        runs.append((model, out, loss.total))
    (paper, a, la), (off, b, lb) = runs
    names = [n for n, _ in paper.named_parameters()]
    assert names == [n for n, _ in off.named_parameters()]
    assert [n for n in names if n.startswith("generator.")] == [
        f"generator.blocks.0.{n}" for n, _ in paper.generator.blocks[0].named_parameters()
    ] + ["generator.out_projs.0.weight", "generator.out_projs.0.bias"]
    assert paper.parameter_count() == off.parameter_count()
    for (n, p), q in zip(paper.named_parameters(), off.parameters(), strict=True):
        assert torch.equal(p, q) and torch.equal(p.grad, q.grad), n
    assert torch.equal(la, lb)
    for s, t in zip(a.hidden_states, b.hidden_states, strict=True):
        assert torch.equal(s, t)


def test_all_switches_off_computes_the_papers_formula(waves):
    # h_k = OutProj(Block(h_(k-1))) + h_(k-1), written out with the model's own modules
    x, lengths = waves
    model = _student(target_layers=[1, 2, 3], **OFF).eval()
    with torch.no_grad():
        out = model(x, lengths)
        mask = torch.arange(49)[None] < out.lengths[:, None]
        block, proj = model.generator.blocks[0], model.generator.out_projs[0]
        h = model.frontend(x, lengths.long())[0]
        for k in range(3):
            h = proj(block(h, mask)) + h
            torch.testing.assert_close(out.predictions[k][mask], h[mask], rtol=0, atol=0)


def test_the_paper_base_size_is_unchanged_with_every_switch_off():
    # 16,993,920: the paper's 17.9% of WavLM Base+ (docs/method.md)
    assert build_student("gendistiller-base", **OFF).parameter_count() == 16_993_920


@pytest.mark.parametrize("history", ["previous", "all"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-step-blocks"])
@pytest.mark.parametrize("switches", BEYOND.values(), ids=BEYOND.keys())
def test_each_switch_runs_forward_and_backward(switches, shared, history, waves):
    model = _student(
        target_layers=[1, 2, 3],
        teacher_forcing_ratio=0.5,
        shared_weights=shared,
        history=history,
        **switches,
    ).train()
    x, lengths = waves
    teacher = [torch.randn(3, 49, 32) for _ in range(4)]
    options = model.training_options(3, 10)
    out = model(x, lengths, teacher_states=teacher, **options)
    assert len(out.predictions) == 3 and all(h.shape == (3, 49, 32) for h in out.hidden_states)
    sum(p.pow(2).mean() for p in out.predictions).backward()
    grads = {n: p.grad for n, p in model.generator.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    if model.generator.step_embedding is not None:  # it learns from its zero start
        assert grads["step_embedding"].abs().sum(dim=1).gt(0).all()
    for k in range(3 if model.generator.output_adapters is not None else 0):
        assert grads[f"output_adapters.{k}.up"].abs().sum() > 0  # B_k learns from zero


def test_parameter_costs_of_the_architectural_switches():
    d, k = 32, 3
    base = _student(target_layers=[1, 2, 3]).parameter_count()
    step = _student(target_layers=[1, 2, 3], step_embedding=True)
    assert step.parameter_count() == base + k * d
    assert not step.generator.step_embedding.any()  # zero at init
    per_step = _student(target_layers=[1, 2, 3], per_step_output_projection=True)
    assert per_step.parameter_count() == base + (k - 1) * (d * d + d)
    assert len(per_step.generator.blocks) == 1 and len(per_step.generator.out_projs) == 3
    projs = {id(per_step.generator.step_modules(i)[1]) for i in range(3)}
    assert (
        len(projs) == 3 and len({id(per_step.generator.step_modules(i)[0]) for i in range(3)}) == 1
    )
    r = 4
    adapters = _student(target_layers=[1, 2, 3], output_adapter_rank=r)
    assert adapters.parameter_count() == base + k * 2 * d * r
    assert len(adapters.generator.out_projs) == 1 and len(adapters.generator.output_adapters) == 3
    assert all(not a.up.any() and a.down.std() > 0 for a in adapters.generator.output_adapters)


def test_zero_output_adapters_are_the_papers_model_and_learned_ones_correct_each_step(waves):
    x, lengths = waves
    paper = _student(target_layers=[1, 2, 3]).eval()
    adapted = _student(target_layers=[1, 2, 3], output_adapter_rank=4).eval()
    # created last: the same seed draws the same shared weights, the adapters after them
    shared = adapted.state_dict()
    assert all(torch.equal(v, shared[n]) for n, v in paper.state_dict().items())
    assert [n for n in shared if n not in paper.state_dict()] == [
        f"generator.output_adapters.{k}.{w}" for k in range(3) for w in ("down", "up")
    ]
    with torch.no_grad():
        a, zero = paper(x, lengths), adapted(x, lengths)
        for s, t in zip(a.hidden_states, zero.hidden_states, strict=True):
            assert torch.equal(s, t)
        # step k projects with OutProj(h) + up_k down_k h: checked at step 1, from x0
        gen = _perturbed(adapted).generator
        block, proj = gen.step_modules(0)
        mask = torch.arange(49)[None] < a.lengths[:, None]
        x0 = a.hidden_states[0]
        h = block(x0, mask)
        adapter = gen.output_adapters[0]
        expected = proj(h) + h @ adapter.down.T @ adapter.up.T + x0
        learned = adapted(x, lengths)
    torch.testing.assert_close(learned.predictions[0][mask], expected[mask])
    assert not torch.allclose(a.predictions[0], learned.predictions[0], atol=1e-4)


def test_teacher_init_keeps_the_output_adapters_at_no_correction(tiny_teacher):
    student = _student(output_adapter_rank=4)
    copied = student.init_from_teacher(tiny_teacher)
    assert not any("output_adapters" in k for k in copied)
    assert all(not a.up.any() for a in student.generator.output_adapters)


def test_a_zero_step_embedding_is_the_papers_model_and_a_learned_one_conditions(waves):
    x, lengths = waves
    paper = _student(target_layers=[1, 2, 3]).eval()
    step = _student(target_layers=[1, 2, 3], step_embedding=True).eval()
    step.load_state_dict({**paper.state_dict(), "generator.step_embedding": torch.zeros(3, 32)})
    with torch.no_grad():
        a, zero = paper(x, lengths), step(x, lengths)
        for s, t in zip(a.hidden_states, zero.hidden_states, strict=True):
            assert torch.equal(s, t)
        learned = _perturbed(step)(x, lengths)
    torch.testing.assert_close(a.hidden_states[0], learned.hidden_states[0])  # front-end
    assert not torch.allclose(a.predictions[0], learned.predictions[0], atol=1e-4)


# Padding invariance with the step embedding and per-step projections (either history):
# tests/students/test_frontend.py, with every front-end option.


@pytest.mark.parametrize(
    "switches", [BEYOND["all"], BEYOND["all-adapters"]], ids=["outproj", "adapters"]
)
@pytest.mark.parametrize("preset", ["gendistiller-tiny", "gendistiller-fast-tiny"])
def test_save_load_round_trip_with_every_switch_on(preset, switches, tmp_path, waves):
    from gendistiller.students import load_student

    torch.manual_seed(0)
    model = _perturbed(
        build_student(
            preset,
            teacher_forcing_ratio=0.5,
            **switches,
            teacher_forcing_schedule="inverse_sigmoid",
        )
    )
    model.save_pretrained(tmp_path)
    loaded = load_student(tmp_path)
    assert loaded.config.to_dict() == model.config.to_dict()
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    x, lengths = waves
    with torch.no_grad():
        for a, b in zip(
            model.eval()(x, lengths).hidden_states,
            loaded.eval()(x, lengths).hidden_states,
            strict=True,
        ):
            assert torch.equal(a, b)


def test_noise_goes_on_the_teacher_forced_history_only_and_only_in_training(waves):
    x, lengths = waves
    teacher = [torch.randn(3, 49, 32) for _ in range(3)]
    clean = _student(teacher_forcing_ratio=1.0, **NO_DROPOUT).train()
    noisy = _student(teacher_forcing_ratio=1.0, teacher_forcing_noise=0.5, **NO_DROPOUT).train()
    a, b = clean(x, lengths, teacher_states=teacher), noisy(x, lengths, teacher_states=teacher)
    torch.testing.assert_close(a.predictions[0], b.predictions[0])  # step 1 sees x0
    assert not torch.allclose(a.predictions[1], b.predictions[1], atol=1e-3)
    with torch.no_grad():  # inference runs free: no teacher, no noise
        for s, t in zip(
            clean.eval()(x, lengths).hidden_states,
            noisy.eval()(x, lengths).hidden_states,
            strict=True,
        ):
            assert torch.equal(s, t)


def test_a_schedule_feeds_the_ratio_of_the_step():
    model = _student(
        teacher_forcing_ratio=1.0,
        teacher_forcing_schedule="linear",
        teacher_forcing_final_ratio=0.0,
    )
    assert model.training_options(0, 11) == {"teacher_forcing_ratio": 1.0}
    assert model.training_options(5, 11) == {"teacher_forcing_ratio": 0.5}
    assert model.training_options(10, 11) == {"teacher_forcing_ratio": 0.0}
    assert _student(teacher_forcing_ratio=0.5).training_options(5, 11) == {}


def test_the_ratio_given_overrides_the_configs(waves):
    x, lengths = waves
    teacher = [torch.randn(3, 49, 32) * 10 for _ in range(3)]
    model = _student(teacher_forcing_ratio=1.0, **NO_DROPOUT).train()
    free = model(x, lengths)
    assert torch.equal(
        model(x, lengths, teacher_states=teacher, teacher_forcing_ratio=0.0).predictions[1],
        free.predictions[1],
    )
    forced = model(x, lengths, teacher_states=teacher)
    assert torch.equal(
        model(x, lengths, teacher_states=teacher, teacher_forcing_ratio=1.0).predictions[1],
        forced.predictions[1],
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(teacher_forcing_schedule="cosine"), "teacher_forcing_schedule must be one of"),
        (dict(teacher_forcing_final_ratio=1.5), "teacher_forcing_final_ratio must be in [0, 1]"),
        (dict(per_step_output_projection=True, output_projection=False), "needs output_projection"),
        (dict(teacher_forcing_noise=-0.1), "teacher_forcing_noise must be >= 0"),
        (dict(teacher_forcing_noise=0.1), "teacher_forcing_noise needs teacher forcing"),
        (dict(step_embedding="yes"), "step_embedding must be true or false, got 'yes'"),
        (dict(expose_block_outputs=1), "expose_block_outputs must be true or false, got 1"),
        (dict(output_adapter_rank=-1), "output_adapter_rank must be an integer >= 0"),
        (dict(output_adapter_rank=True), "output_adapter_rank must be an integer >= 0"),
        (dict(output_adapter_rank=2.0), "output_adapter_rank must be an integer >= 0"),
        (
            dict(output_adapter_rank=4, output_projection=False),
            "output_adapter_rank needs output_projection",
        ),
        (
            dict(output_adapter_rank=4, per_step_output_projection=True),
            "with per_step_output_projection",
        ),
        (dict(skip_connection="false"), "skip_connection must be true or false"),
        (dict(teacher_forcing_noise="0.1"), "teacher_forcing_noise must be a number"),
    ],
)
def test_bad_switch_values_are_one_line_errors(overrides, message):
    from gendistiller.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        build_student("gendistiller-tiny", **overrides)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("preset", ["gendistiller-tiny", "gendistiller-fast-tiny"])
def test_exposed_block_outputs_add_states_and_change_nothing_else(preset, waves):
    torch.manual_seed(0)
    paper = build_student(preset, target_layers=[1, 2, 3]).eval()
    exposed = build_student(preset, target_layers=[1, 2, 3], expose_block_outputs=True).eval()
    exposed.load_state_dict(paper.state_dict())  # no weight of its own
    assert exposed.state_dict().keys() == paper.state_dict().keys()
    x, lengths = waves
    with torch.no_grad():
        a, b = paper(x, lengths), exposed(x, lengths)
    assert len(b.hidden_states) == 7 == exposed.num_hidden_states
    assert exposed.state_names == ["x0", "b1", "h1", "b2", "h2", "b3", "h3"]
    assert exposed.state_targets == [None, None, 1, None, 2, None, 3]
    assert paper.state_targets == [None, 1, 2, 3]
    # x0 and the generated layers are the paper's states, the predictions unchanged
    for i, state in zip([0, 2, 4, 6], a.hidden_states, strict=True):
        torch.testing.assert_close(b.hidden_states[i], state, rtol=0, atol=0)
    for p, q in zip(a.predictions, b.predictions, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    valid = torch.arange(b.hidden_states[1].shape[1])[None, :] < b.lengths[:, None]
    for k in range(3):  # b_k = h_k - h_(k-1) before OutProj: OutProj(b_k) + h_(k-1) = h_k
        block_out, h, prev = (
            b.hidden_states[1 + 2 * k],
            b.hidden_states[2 + 2 * k],
            b.hidden_states[2 * k],
        )
        _, proj = exposed.generator.step_modules(k)
        if exposed.frame_rate is None:
            torch.testing.assert_close((proj(block_out) + prev)[valid], h[valid])
        else:  # merged frames: b_k repeated to the front-end's rate, no learned offsets
            s = exposed.frame_rate.stride
            whole = (b.lengths.min().item() // s) * s
            groups = block_out[:, :whole].reshape(block_out.shape[0], -1, s, block_out.shape[-1])
            assert torch.equal(groups, groups[:, :, :1].expand_as(groups))
        assert torch.all(block_out[~valid] == 0)  # padding zeroed like every state


@pytest.mark.parametrize("history", ["previous", "all"])
@pytest.mark.parametrize("projection", [True, False], ids=["outproj", "no-outproj"])
def test_exposed_block_outputs_with_either_history_and_projection(history, projection, waves):
    torch.manual_seed(0)
    model = build_student(
        "gendistiller-tiny",
        target_layers=[1, 2, 3],
        history=history,
        output_projection=projection,
        expose_block_outputs=True,
    ).eval()
    x, lengths = waves
    with torch.no_grad():
        out = model(x, lengths)
    assert len(out.hidden_states) == 7
    for k in range(3):  # without a projection h_k = b_k + h_(k-1)
        if not projection:
            b, h, prev = (
                out.hidden_states[1 + 2 * k],
                out.hidden_states[2 + 2 * k],
                out.hidden_states[2 * k],
            )
            torch.testing.assert_close(b + prev, h)
        torch.testing.assert_close(out.hidden_states[2 + 2 * k], out.predictions[k], rtol=0, atol=0)
