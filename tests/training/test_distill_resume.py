"""Kill and resume: same step, same next batch, same final weights; damaged checkpoints."""

from __future__ import annotations

import csv
import errno
import logging
import os
import shutil
import stat

import lightning as L
import pytest
import torch

import gendistiller
from gendistiller.errors import CheckpointError, ConfigError
from gendistiller.io import DiskFullError
from gendistiller.training.checkpoints import AtomicCheckpointIO, list_checkpoints, read_checkpoint
from gendistiller.training.config import load_config
from gendistiller.training.frontend_stage import FrontendStageModule as Stage
from gendistiller.training.module import DistillationModule as Main
from gendistiller.training.run import train


class Recorder(L.Callback):
    """(global step before the batch, stream position, waveforms) of every batch."""

    def __init__(self):
        self.batches = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append((trainer.global_step, batch["position"], batch["waveforms"].clone()))


def student_state(run_dir):
    return gendistiller.load_student(run_dir / "student").state_dict()


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture
def configs(tiny_args, tmp_path):
    # dropout and teacher forcing on, so that RNG restoration matters too
    common = (
        "trainer.max_steps=8",
        "checkpoint.every_n_steps=2",
        "checkpoint.keep_last=3",
        "student.overrides.teacher_forcing_ratio=0.5",
    )

    def make(name, *extra):
        return load_config("tiny", tiny_args(*common, *extra, run_dir=tmp_path / name))

    return make


def test_killed_run_resumes_at_the_right_step_with_the_same_batches_and_weights(
    configs, caplog, kill_at
):
    reference = Recorder()
    train(configs("a"), callbacks=[reference])
    assert [step for step, _, _ in reference.batches] == list(range(8))

    killed = configs("b")
    with pytest.raises(kill_at.error):
        train(killed, callbacks=[kill_at(5)])  # one step after the checkpoint at step 4
    assert [s for s, _ in list_checkpoints(killed.run_dir / "checkpoints")] == [4, 2]
    shutil.copytree(killed.run_dir, killed.run_dir.with_name("c"))

    # automatic resume from the run folder
    resumed = Recorder()
    result = train(killed, callbacks=[resumed])
    assert result.resumed_from.name == "step-000000004.ckpt" and result.global_step == 8
    assert [(s, p) for s, p, _ in resumed.batches] == [(s, p) for s, p, _ in reference.batches[4:]]
    for (_, _, got), (_, _, want) in zip(resumed.batches, reference.batches[4:], strict=True):
        assert torch.equal(got, want)
    assert_same_weights(student_state(killed.run_dir), student_state(configs("a").run_dir))

    # a half-written newest checkpoint (and a leftover temp file) do not break resume
    damaged = configs("c")
    newest = damaged.run_dir / "checkpoints" / "step-000000004.ckpt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    (damaged.run_dir / "checkpoints" / ".tmp-step-000000006.ckpt.x1").write_bytes(b"partial")
    fallback = Recorder()
    with caplog.at_level(logging.WARNING, logger="gendistiller"):
        result = train(damaged, callbacks=[fallback])
    assert any("damaged checkpoint" in r.getMessage() for r in caplog.records)
    assert result.resumed_from.name == "step-000000002.ckpt"
    assert fallback.batches[0][:2] == (2, 2)
    assert_same_weights(student_state(damaged.run_dir), student_state(configs("a").run_dir))
    assert not list((damaged.run_dir / "checkpoints").glob(".tmp-*"))


def test_scheduled_noisy_teacher_forcing_and_depth_weights_resume_exactly(configs, kill_at):
    # the switches beyond the paper that act during training (docs/method.md)
    beyond = (
        "student.overrides.teacher_forcing_ratio=1.0",
        "student.overrides.teacher_forcing_schedule=linear",
        "student.overrides.teacher_forcing_noise=0.2",
        "loss.depth_weight_exponent=1",
        "trainer.log_every_n_steps=1",
    )
    reference = configs("a", *beyond)
    train(reference)
    killed = configs("b", *beyond)
    with pytest.raises(kill_at.error):
        train(killed, callbacks=[kill_at(5)])
    assert train(killed).resumed_from.name == "step-000000004.ckpt"
    assert_same_weights(student_state(killed.run_dir), student_state(reference.run_dir))
    ratios = {}  # step -> the ratio the student was given, as logged
    for path in sorted((killed.run_dir / "csv").glob("version_*/metrics.csv")):
        with open(path) as fh:
            for row in csv.DictReader(fh):
                if row.get("train/teacher_forcing_ratio"):
                    ratios[int(row["step"])] = float(row["train/teacher_forcing_ratio"])
    assert ratios == pytest.approx({s: 1 - s / 7 for s in range(8)})
    # the same run without the switches trains to other weights: they reached the step
    train(plain := configs("c"))
    assert not torch.equal(
        student_state(plain.run_dir)["generator.blocks.0.layer_norm.weight"],
        student_state(reference.run_dir)["generator.blocks.0.layer_norm.weight"],
    )


def test_explicit_resume_and_resume_guards(configs, tmp_path):
    first = configs("x", "trainer.max_steps=4")
    train(first)
    ckpt = first.run_dir / "checkpoints" / "step-000000002.ckpt"

    other = configs("y", "trainer.max_steps=4", f"run.resume={ckpt}")
    rec = Recorder()
    result = train(other, callbacks=[rec])
    assert result.resumed_from == ckpt and rec.batches[0][:2] == (2, 2)

    with pytest.raises(ConfigError, match="run.resume"):
        train(configs("x", "trainer.max_steps=4", "run.resume=never"))
    with pytest.raises(CheckpointError, match="hidden_size"):
        train(
            configs(
                "x",
                "trainer.max_steps=4",
                "student.overrides.hidden_size=64",
                "student.overrides.num_attention_heads=2",
                "student.init_from_teacher=false",
            )
        )


def test_a_save_killed_midway_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "step-000000002.ckpt"
    good = {"state_dict": {"w": torch.ones(3)}, "global_step": 2, "loops": {}}
    io.save_checkpoint(good, target)

    def dying_save(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # the process is killed mid-write

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {}, "global_step": 3, "loops": {}}, target)
    monkeypatch.undo()
    assert torch.equal(read_checkpoint(target)["state_dict"]["w"], torch.ones(3))
    assert list(tmp_path.iterdir()) == [target]


def test_checkpoints_are_read_without_unpickling_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this would run on load",))

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "global_step": 0, "loops": {}, "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        read_checkpoint(evil)


def test_checkpoints_honour_the_umask_and_a_full_disk_keeps_the_previous_one(configs, monkeypatch):
    cfg = configs("full", "trainer.max_steps=6")
    real_save = torch.save
    calls = []

    def filling_save(obj, fh, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the checkpoint at step 4
            fh.write(b"PK\x03\x04 part of a zip")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, fh, *args, **kwargs)

    monkeypatch.setattr(torch, "save", filling_save)
    old = os.umask(0o022)
    try:
        with pytest.raises(DiskFullError, match=r"step-000000004\.ckpt: the disk is full"):
            train(cfg)
    finally:
        os.umask(old)
    folder = cfg.run_dir / "checkpoints"
    assert [p.name for p in folder.iterdir()] == ["step-000000002.ckpt"]  # partial removed
    assert read_checkpoint(folder / "step-000000002.ckpt")["global_step"] == 2
    assert stat.S_IMODE((folder / "step-000000002.ckpt").stat().st_mode) == 0o644


def test_last_k_are_kept_after_resuming_in_a_moved_run_folder(configs):
    first = configs("m1", "trainer.max_steps=4")
    train(first)
    moved = first.run_dir.with_name("m2")
    shutil.move(first.run_dir, moved)
    train(configs("m2", "trainer.max_steps=8"))
    assert [s for s, _ in list_checkpoints(moved / "checkpoints")] == [8, 6, 4]


@pytest.fixture
def staged(configs):
    # a fast student with a front-end stage of 6 steps before 8 main steps
    def make(name, *extra):
        return configs(
            name, "student.preset=gendistiller-fast-tiny", "frontend_stage.steps=6", *extra
        )

    return make


class FitRecorder(Recorder):
    """Also which fit (LightningModule class) each batch belongs to."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        super().on_train_batch_start(trainer, pl_module, batch, batch_idx)
        self.batches[-1] = (type(pl_module).__name__, *self.batches[-1])


def fits(recorder, module):
    return [(s, p, w) for m, s, p, w in recorder.batches if m == module.__name__]


def same_batches(got, want):
    return [(s, p) for s, p, _ in got] == [(s, p) for s, p, _ in want] and all(
        torch.equal(a[2], b[2]) for a, b in zip(got, want, strict=True)
    )


def test_a_killed_front_end_stage_resumes_exactly(staged, kill_at):
    reference = FitRecorder()
    train(staged("a"), callbacks=[reference])
    assert [s for s, _, _ in fits(reference, Stage)] == list(range(6))
    assert [p for _, p, _ in fits(reference, Stage)] == list(range(6))  # the main run's stream
    assert [s for s, _, _ in fits(reference, Main)] == list(range(8))

    killed = staged("b")
    with pytest.raises(kill_at.error):
        train(killed, callbacks=[kill_at(3, Stage)])  # one step after its checkpoint at 2
    assert [s for s, _ in list_checkpoints(killed.run_dir / "frontend_stage" / "checkpoints")] == [
        2
    ]
    assert not list_checkpoints(killed.run_dir / "checkpoints")

    resumed = FitRecorder()
    result = train(killed, callbacks=[resumed])
    assert result.frontend_stage_steps == 6 and result.resumed_from is None
    assert same_batches(fits(resumed, Stage), fits(reference, Stage)[2:])
    assert same_batches(fits(resumed, Main), fits(reference, Main))
    assert_same_weights(student_state(killed.run_dir), student_state(staged("a").run_dir))


def test_a_killed_main_stage_does_not_redo_a_finished_front_end_stage(staged, kill_at, caplog):
    reference = FitRecorder()
    train(staged("a"), callbacks=[reference])

    # killed before the main stage's first checkpoint: the stage's last one holds its result
    early = staged("early")
    with pytest.raises(kill_at.error):
        train(early, callbacks=[kill_at(1, Main)])
    assert not list_checkpoints(early.run_dir / "checkpoints")
    resumed = FitRecorder()
    with caplog.at_level(logging.INFO, logger="gendistiller"):
        result = train(early, callbacks=[resumed])
    assert any("front-end stage: finished" in r.getMessage() for r in caplog.records)
    assert not fits(resumed, Stage) and result.frontend_stage_steps == 6
    assert same_batches(fits(resumed, Main), fits(reference, Main))
    assert_same_weights(student_state(early.run_dir), student_state(staged("a").run_dir))

    # killed after a main checkpoint: that checkpoint is resumed, the stage not looked at
    late = staged("late")
    with pytest.raises(kill_at.error):
        train(late, callbacks=[kill_at(5, Main)])
    resumed = FitRecorder()
    result = train(late, callbacks=[resumed])
    assert result.resumed_from.name == "step-000000004.ckpt"
    assert not fits(resumed, Stage)
    assert same_batches(fits(resumed, Main), fits(reference, Main)[4:])
    assert_same_weights(student_state(late.run_dir), student_state(staged("a").run_dir))


def test_stage_checkpoints_are_guarded(staged, kill_at):
    cfg = staged("g")
    with pytest.raises(kill_at.error):
        train(cfg, callbacks=[kill_at(3, Stage)])
    stage_ckpt = cfg.run_dir / "frontend_stage" / "checkpoints" / "step-000000002.ckpt"
    saved = read_checkpoint(stage_ckpt)["gendistiller"]
    assert saved["stage"] == "frontend"
    assert saved["config"]["frontend_stage"] == cfg.frontend_stage.to_dict()  # resolved config
    with pytest.raises(ConfigError, match="run.resume: 'never', but .*frontend_stage"):
        train(staged("g", "run.resume=never"))
    with pytest.raises(
        CheckpointError, match="a checkpoint of the frontend stage, not of the main"
    ):
        train(staged("other", f"run.resume={stage_ckpt}"))
