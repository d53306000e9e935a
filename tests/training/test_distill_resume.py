"""Kill and resume: same step, same next batch, same final weights; damaged checkpoints."""

from __future__ import annotations

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
