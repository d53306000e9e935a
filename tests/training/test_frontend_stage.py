"""The front-end stage: its teacher targets, what it trains, that it learns, that it is off
by default, the configs it refuses, and the teacher cache serving its targets."""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gendistiller.errors import ConfigError, TeacherError
from gendistiller.students import build_student, get_preset
from gendistiller.teachers import load_teacher
from gendistiller.training import run as run_mod
from gendistiller.training.checkpoints import CKPT_DIR, find_resume_checkpoint
from gendistiller.training.config import DistillConfig, load_config, recipe_names
from gendistiller.training.curves import loss_curve
from gendistiller.training.frontend_stage import (
    STAGE_DIR,
    TRAINABLE,
    FrontendStageModule,
    check_stage,
    stage_state,
    teacher_frontend,
)
from gendistiller.training.module import DistillationModule
from gendistiller.training.run import train
from gendistiller.training.teacher_cache_build import build_teacher_cache


@pytest.fixture
def configs(tiny_args, tmp_path):
    common = (
        "student.preset=gendistiller-fast-tiny",
        "trainer.max_steps=4",
        "checkpoint.every_n_steps=2",
    )

    def make(name, *extra):
        return load_config("tiny", tiny_args(*common, *extra, run_dir=tmp_path / name))

    return make


@pytest.mark.parametrize("kind", ["wavlm", "hubert", "wav2vec2", "data2vec-audio"])
def test_the_teachers_front_end_alone_gives_its_layer_0(kind):
    teacher = load_teacher(f"random:{kind}-tiny")
    waves = 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))
    alone = teacher_frontend(teacher, waves, "layer0")
    torch.testing.assert_close(alone, teacher(waves).hidden_states[0], rtol=1e-5, atol=1e-6)


def test_the_cnn_target_is_what_a_teacher_initialised_cnn_computes(tiny_teacher):
    # the student's CNN is our own code: equal outputs mean the target is the CNN output
    student = build_student(get_preset("gendistiller-tiny"))
    student.init_from_teacher(tiny_teacher)
    waves = 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mine = student.frontend.features(waves)
    theirs = teacher_frontend(tiny_teacher, waves, "cnn")
    assert theirs.shape == (2, 24, 32)
    torch.testing.assert_close(theirs, mine, rtol=1e-5, atol=1e-6)


def test_a_teacher_whose_layer_0_the_stage_cannot_compute_is_refused(tiny_teacher):
    student = build_student(get_preset("gendistiller-fast-tiny"))
    check_stage(student, tiny_teacher, "layer0")
    teacher = load_teacher("random:wavlm-tiny")
    teacher.model.config.do_stable_layer_norm = True  # a post-LN model that claims pre-LN
    with pytest.raises(TeacherError, match=r"^frontend_stage: teacher .* computes its layer 0"):
        check_stage(student, teacher, "layer0")


class GradSpy(L.Callback):
    """Per fit (LightningModule class): the parameters that got a gradient, and the
    student's weights before and after the fit."""

    def __init__(self):
        self.grads: dict[str, set[str]] = {}
        self.before: dict[str, dict[str, torch.Tensor]] = {}
        self.after: dict[str, dict[str, torch.Tensor]] = {}
        self.training: dict[str, bool] = {}

    def on_train_start(self, trainer, pl_module):
        self.before[type(pl_module).__name__] = _copy(pl_module.student)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        names = {n for n, p in pl_module.student.named_parameters() if p.grad is not None}
        self.grads.setdefault(type(pl_module).__name__, set()).update(names)
        self.training[type(pl_module).__name__] = pl_module.student.training

    def on_train_end(self, trainer, pl_module):
        self.after[type(pl_module).__name__] = _copy(pl_module.student)


def _copy(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    "preset, target, trainable",
    [
        ("gendistiller-fast-tiny", "layer0", "features"),
        ("gendistiller-fast-tiny", "layer0", "projection"),
        ("gendistiller-fast-tiny", "layer0", "frontend"),
        ("gendistiller-fast-tiny", "cnn", "features"),
        ("gendistiller-fast-tiny", "cnn", "frontend"),  # what of it the loss reaches
        ("distilhubert-fast-tiny", "layer0", "frontend"),
    ],
)
def test_the_stage_trains_what_trainable_names_and_the_main_stage_all(
    configs, preset, target, trainable
):
    spy = GradSpy()
    cfg = configs(
        f"{preset}-{target}-{trainable}",
        f"student.preset={preset}",
        "frontend_stage.steps=3",
        f"frontend_stage.target={target}",
        f"frontend_stage.trainable={trainable}",
    )
    result = train(cfg, callbacks=[spy])
    assert result.frontend_stage_steps == 3 and result.global_step == 4
    stage, main = FrontendStageModule.__name__, DistillationModule.__name__
    prefixes = TRAINABLE["features" if target == "cnn" else trainable]
    params = {n for n, _ in build_student(get_preset(preset)).named_parameters()}
    assert spy.grads[stage] == {n for n in params if n.startswith(prefixes)}
    assert spy.grads[main] == params  # released: everything trains again
    assert spy.training == {stage: False, main: True}  # dropout off in the stage only
    moved = {
        k for k in spy.before[stage] if not torch.equal(spy.before[stage][k], spy.after[stage][k])
    }
    assert moved and all(k.startswith(prefixes) for k in moved)
    # the main stage starts from the stage's result
    assert all(torch.equal(v, spy.before[main][k]) for k, v in spy.after[stage].items())
    assert (cfg.run_dir / STAGE_DIR / "loss.jsonl").is_file()


def test_the_stage_reduces_its_loss_and_moves_layer_0_towards_the_teachers(
    configs, tiny_teacher, held_out_speech
):
    cfg = configs("learn", "frontend_stage.steps=40", "frontend_stage.lr=1e-2")
    L.seed_everything(cfg.run.seed, verbose=False)  # the student the run builds
    student = build_student(cfg.student.build_config()).eval()
    student.init_from_teacher(tiny_teacher)
    held_out = torch.from_numpy(held_out_speech)[None]
    target = tiny_teacher(held_out).hidden_states[0]

    def cosine() -> float:
        with torch.no_grad():
            return F.cosine_similarity(student(held_out).hidden_states[0], target, dim=-1).mean()

    before = cosine()
    result = train(cfg)
    _, losses = loss_curve(result.run_dir / STAGE_DIR)
    assert len(losses) == 40
    assert np.mean(losses[-8:]) < 0.97 * np.mean(losses[:8])
    stage_end = find_resume_checkpoint(result.run_dir / STAGE_DIR / CKPT_DIR)[1]
    student.load_state_dict(stage_state(stage_end))
    assert cosine() > before + 0.05


def test_off_by_default_and_a_run_without_it_is_unchanged(configs, monkeypatch, same_students):
    assert DistillConfig().frontend_stage.steps == 0
    assert all(load_config(name).frontend_stage.steps == 0 for name in recipe_names())

    def never(*args, **kwargs):
        raise AssertionError("the front-end stage ran")

    monkeypatch.setattr(run_mod, "frontend_stage", never)
    plain = train(configs("plain"))
    # its other settings do nothing while it is off
    other = train(configs("other", "frontend_stage.target=cnn", "frontend_stage.lr=0.5"))
    assert not (plain.run_dir / STAGE_DIR).exists() and plain.frontend_stage_steps == 0
    assert loss_curve(plain.run_dir) == loss_curve(other.run_dir)
    assert same_students(plain, other)


def test_a_conv_front_end_from_the_teacher_is_refused_in_one_line(tiny_args):
    with pytest.raises(ConfigError, match=r"^frontend_stage\.steps: student 'gendistiller-tiny'"):
        load_config("tiny", tiny_args("frontend_stage.steps=5"))
    # a random CNN can learn the teacher's: allowed
    cfg = load_config(
        "tiny", tiny_args("frontend_stage.steps=5", "student.init_from_teacher=false")
    )
    assert cfg.frontend_stage.steps == 5
    with pytest.raises(ConfigError, match=r"^frontend_stage\.trainable: with target cnn"):
        load_config(
            "tiny", tiny_args("frontend_stage.target=cnn", "frontend_stage.trainable=projection")
        )


def test_a_random_cnn_learns_the_teachers_cnn_output(configs):
    result = train(
        configs(
            "conv",
            "student.preset=gendistiller-tiny",
            "student.init_from_teacher=false",
            "frontend_stage.steps=2",
            "frontend_stage.target=cnn",
        )
    )
    assert result.frontend_stage_steps == 2


def test_widths_that_do_not_match_the_teachers_are_refused_before_training(configs):
    # (from the teacher, the projection would not fit: init_from_teacher refuses first)
    narrow = (
        "student.overrides.fbank_conv_dim=[16,16]",
        "student.init_from_teacher=false",
        "frontend_stage.steps=2",
    )
    with pytest.raises(
        ConfigError, match=r"^frontend_stage\.target: cnn needs .* \(16\) .* \(32\)"
    ):
        train(configs("narrow", *narrow, "frontend_stage.target=cnn"))
    assert not (configs("narrow").run_dir / STAGE_DIR).exists()
    # layer 0 does not depend on the front-end's width: the projection maps it
    assert train(configs("narrow0", *narrow)).frontend_stage_steps == 2


def test_a_teacher_cache_holding_layer_0_serves_the_stage(configs, tmp_path, caplog, same_students):
    stage = ("frontend_stage.steps=4", "student.overrides.teacher_forcing_ratio=0.5")
    reference = train(configs("plain", *stage))
    cache = build_teacher_cache(configs("plain", *stage), tmp_path / "cache", layers=[0, 1, 2])
    with caplog.at_level(logging.INFO, logger="gendistiller"):
        cached = train(configs("cached", *stage, f"teacher.cache={cache}"))
    assert any("teacher cache: 4 read, 0 not in it" in r.getMessage() for r in caplog.records)
    assert loss_curve(cached.run_dir / STAGE_DIR) == loss_curve(reference.run_dir / STAGE_DIR)
    assert loss_curve(cached.run_dir) == loss_curve(reference.run_dir)
    assert same_students(cached, reference)

    # a cache without layer 0 serves the main stage only; the teacher's front-end runs
    targets = build_teacher_cache(configs("plain", *stage), tmp_path / "cache12")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gendistiller"):
        other = train(configs("cached12", *stage, f"teacher.cache={targets}"))
    assert any("not in the teacher cache" in r.getMessage() for r in caplog.records)
    assert same_students(other, reference)
