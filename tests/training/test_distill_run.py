"""End to end: a `tiny` run from the CLI, its outputs, a falling loss, NaN handling."""

from __future__ import annotations

import csv
import logging
import shutil

import lightning as L
import pytest
import torch
import yaml

import gendistiller
from gendistiller import cli
from gendistiller.errors import DataError
from gendistiller.training.checkpoints import list_checkpoints, read_checkpoint
from gendistiller.training.config import load_config
from gendistiller.training.module import DistillationModule, NonFiniteLossError
from gendistiller.training.run import train


def read_metrics(run_dir):
    rows = []
    for path in sorted((run_dir / "csv").glob("version_*/metrics.csv")):
        with open(path) as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_tiny_run_from_the_cli_writes_a_loadable_student_and_the_loss_falls(
    tiny_args, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    args = tiny_args(
        "trainer.max_steps=30",
        "trainer.log_every_n_steps=1",
        "checkpoint.every_n_steps=10",
        "data.batch_size=4",
        "data.max_samples=8000",
    )
    assert cli.main(["distill", "--config", "tiny", *args]) == 0
    assert "student:" in capsys.readouterr().out

    # the exported student loads and runs
    student = gendistiller.load_student(run_dir / "student")
    out = student(torch.randn(1, 16000) * 0.1)
    assert len(out.hidden_states) == student.num_hidden_states
    assert out.hidden_states[0].shape[1] == 49

    # the resolved config is saved and reusable
    saved = load_config(str(run_dir / "config.yaml"))
    assert saved.trainer.max_steps == 30 and saved.data.root == args[0].split("=", 1)[1]

    # per-layer metrics in CSV (TensorBoard gets the same)
    rows = [r for r in read_metrics(run_dir) if r.get("loss")]
    assert {"train/l1_layer1", "train/cos_layer2", "audio_s/s"} <= set(rows[0])
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    losses = [float(r["loss"]) for r in rows]
    assert len(losses) >= 25
    early, late = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert late < 0.9 * early, (early, late)

    # checkpoints: every 10 steps + the end, last 2 kept, student only
    steps = [s for s, _ in list_checkpoints(run_dir / "checkpoints")]
    assert steps == [30, 20]
    ckpt = read_checkpoint(run_dir / "checkpoints" / "step-000000030.ckpt")
    assert ckpt["global_step"] == 30
    assert ckpt["state_dict"] and all(k.startswith("student.") for k in ckpt["state_dict"])
    assert ckpt["gendistiller"]["config"]["trainer"]["max_steps"] == 30


class NaNTeacherSteps(L.Callback):
    """Make the teacher's output NaN on chosen batch positions."""

    def __init__(self, positions):
        self.positions = set(positions)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch["position"] in self.positions:
            batch["waveforms"] = batch["waveforms"] * float("nan")


def test_nan_loss_skips_the_step_then_several_stop_the_run(tiny_args, tmp_path, caplog):
    cfg = load_config("tiny", tiny_args("trainer.max_steps=6", "trainer.max_nonfinite_steps=3"))
    weights = {}

    class Snapshot(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            weights[batch["position"]] = [
                p.detach().clone() for p in pl_module.student.parameters()
            ]

    with caplog.at_level(logging.WARNING, logger="gendistiller"):
        result = train(cfg, callbacks=[NaNTeacherSteps({2}), Snapshot()])
    assert result.skipped_steps == 1
    assert all(
        torch.equal(a, b) for a, b in zip(weights[1], weights[2], strict=True)
    )  # skipped: unchanged
    assert not all(torch.equal(a, b) for a, b in zip(weights[2], weights[3], strict=True))
    assert any("NaN/inf" in r.getMessage() for r in caplog.records)

    run_dir = tmp_path / "nan-run"
    cfg = load_config(
        "tiny",
        tiny_args(
            "trainer.max_steps=20",
            "trainer.max_nonfinite_steps=3",
            "checkpoint.every_n_steps=2",
            run_dir=run_dir,
        ),
    )
    with pytest.raises(NonFiniteLossError, match="3 batches in a row"):
        train(cfg, callbacks=[NaNTeacherSteps({5, 6, 7, 8})])
    steps = [s for s, _ in list_checkpoints(run_dir / "checkpoints")]
    assert steps and steps[0] <= 6
    ckpt = read_checkpoint(run_dir / "checkpoints" / f"step-{steps[0]:09d}.ckpt")
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())


def test_the_teacher_is_never_trained_nor_checkpointed(tiny_args):
    cfg = load_config("tiny", tiny_args("trainer.max_steps=2"))
    seen = {}

    class Check(L.Callback):
        def on_train_end(self, trainer, pl_module: DistillationModule):
            seen["teacher_grad"] = any(p.requires_grad for p in pl_module.teacher.parameters())
            seen["teacher_training"] = pl_module.teacher.training
            seen["keys"] = list(pl_module.state_dict())
            seen["optimised"] = sum(
                p.numel() for g in trainer.optimizers[0].param_groups for p in g["params"]
            )
            seen["student"] = sum(p.numel() for p in pl_module.student.parameters())

    train(cfg, callbacks=[Check()])
    assert seen["teacher_grad"] is False and seen["teacher_training"] is False
    assert all(k.startswith("student.") for k in seen["keys"])
    assert seen["optimised"] == seen["student"]
    config_text = (cfg.run_dir / "config.yaml").read_text()
    assert yaml.safe_load(config_text)["teacher"]["spec"] == "random:wavlm-tiny"


def test_no_usable_audio_at_load_time_is_one_line_from_a_worker(tmp_path, capsys, monkeypatch):
    """Headers pass a quick scan, but every file is NaN inside: the DataLoader worker's
    error reaches the user as one line, not a worker traceback."""
    import numpy as np
    import soundfile as sf

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "nan"
    root.mkdir()
    for i in range(3):
        sf.write(root / f"{i}.wav", np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    code = cli.main(
        [
            "distill",
            "--config",
            "tiny",
            f"data.root={root}",
            f"run.dir={tmp_path / 'run'}",
            "data.verify=header",
            "data.num_workers=1",
            "trainer.progress_bar=false",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("gendistiller distill: error: no usable audio left")
    assert not any("Traceback" in line for line in err), err


@pytest.mark.parametrize("teacher_mixed, dtype", [(False, torch.float32), (True, torch.bfloat16)])
def test_bf16_mixed_precision_keeps_the_teacher_fp32_unless_asked(
    tiny_args, monkeypatch, teacher_mixed, dtype
):
    seen = []
    original = DistillationModule._teacher_states

    def spy(self, waves):
        states = original(self, waves)
        seen.append(states[-1].dtype)
        return states

    monkeypatch.setattr(DistillationModule, "_teacher_states", spy)
    cfg = load_config(
        "tiny",
        tiny_args(
            "trainer.max_steps=2",
            "trainer.precision=bf16-mixed",
            f"teacher.mixed_precision={str(teacher_mixed).lower()}",
        ),
    )
    result = train(cfg)
    assert seen == [dtype, dtype] and result.global_step == 2
    assert gendistiller.load_student(result.student_dir) is not None


def test_gradient_accumulation_counts_batches_and_steps(tiny_args, tmp_path):
    cfg = load_config("tiny", tiny_args("trainer.max_steps=3", "trainer.accumulate_grad_batches=2"))
    result = train(cfg)
    ckpt = read_checkpoint(cfg.run_dir / "checkpoints" / "step-000000003.ckpt")
    assert result.global_step == 3 and ckpt["global_step"] == 3
    assert ckpt["AudioDataModule"]["consumed"] == 6  # two batches per optimiser step


class AtStep(L.Callback):
    """Run ``action`` once, when the optimiser step reaches ``step`` (0: at train start)."""

    def __init__(self, step, action):
        self.step, self.action, self.done = step, action, False

    def on_train_start(self, trainer, pl_module):
        if self.step == 0:
            self.action()
            self.done = True

    def on_train_batch_end(self, trainer, *args):
        if not self.done and trainer.global_step == self.step:
            self.action()
            self.done = True


def test_files_deleted_or_truncated_after_the_scan_are_skipped_once_and_counted(
    tiny_args, speech_dir, tmp_path, caplog
):
    data = tmp_path / "data"
    shutil.copytree(speech_dir, data)

    def change_files():
        (data / "utt00.flac").unlink()
        truncated = data / "utt01.flac"
        truncated.write_bytes(truncated.read_bytes()[:2000])

    cfg = load_config("tiny", tiny_args("trainer.max_steps=12", f"data.root={data}"))
    with caplog.at_level(logging.WARNING, logger="gendistiller"):
        result = train(cfg, callbacks=[AtStep(0, change_files)])
    assert result.global_step == 12
    assert "2 more skipped when loaded" in result.data_summary
    for name in ("utt00.flac", "utt01.flac"):
        warnings = [r for r in caplog.records if name in r.getMessage()]
        assert len(warnings) == 1, name
        assert warnings[0].getMessage().startswith(f"skipping {data / name}:")


@pytest.mark.parametrize("workers", [0, 2])
def test_a_data_folder_that_vanishes_mid_run_stops_with_one_line_and_keeps_the_checkpoint(
    tiny_args, speech_dir, tmp_path, workers
):
    data = tmp_path / "data"
    shutil.copytree(speech_dir, data)
    cfg = load_config(
        "tiny",
        tiny_args(
            "trainer.max_steps=40",
            "checkpoint.every_n_steps=2",
            f"data.num_workers={workers}",
            f"data.root={data}",
        ),
    )
    with pytest.raises(DataError, match="no usable audio left") as err:
        train(cfg, callbacks=[AtStep(2, lambda: shutil.rmtree(data))])
    assert "\n" not in str(err.value) and str(data) in str(err.value)
    # workers may still hand over batches they loaded before: the run stops when they run out
    steps = [s for s, _ in list_checkpoints(cfg.run_dir / "checkpoints")]
    assert steps and steps[0] < 40
    assert read_checkpoint(cfg.run_dir / "checkpoints" / f"step-{steps[0]:09d}.ckpt")
