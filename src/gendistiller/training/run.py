"""One distillation run, from a validated config to an exported student.

Order matters: everything cheap and checkable (config, paths, the checkpoint to resume
from) comes before the data scan, which comes before the teacher download, so that a
mistake costs seconds. The run folder holds ``config.yaml`` (resolved), ``checkpoints/``,
``tensorboard/``, ``csv/``, ``loss.jsonl`` (the loss of every step) and, at the end,
``student/`` (``save_pretrained`` layout).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from gendistiller.config import to_dict
from gendistiller.data.module import AudioDataModule
from gendistiller.data.sources import scan_source
from gendistiller.errors import CheckpointError, ConfigError, GenDistillerError, one_line
from gendistiller.io import atomic_dir, remove_stale_temps, write_text
from gendistiller.training.checkpoints import (
    CKPT_DIR,
    AtomicCheckpointIO,
    PeriodicCheckpoint,
    find_resume_checkpoint,
    list_checkpoints,
    read_checkpoint,
    remove_stale_temp_files,
)
from gendistiller.training.config import DistillConfig
from gendistiller.training.curves import LOSS_LOG, LossLog
from gendistiller.training.module import CHECKPOINT_KEY, DistillationModule
from gendistiller.training.progress import StepProgressBar
from gendistiller.training.teacher_cache import TeacherCache, cache_settings

log = logging.getLogger(__name__)

STUDENT_DIR = "student"
CONFIG_FILE = "config.yaml"


@dataclass
class RunResult:
    run_dir: Path
    student_dir: Path
    global_step: int
    resumed_from: Path | None
    data_summary: str
    skipped_steps: int
    cache_hits: int = 0  # batches whose teacher states came from teacher.cache
    cache_misses: int = 0  # batches not in it: the teacher ran for them


def train(
    cfg: DistillConfig, *, callbacks: Sequence[L.Callback] = (), progress: bool | None = None
) -> RunResult:
    """Train (or resume) the run described by ``cfg``; returns where things were written."""
    threads = torch.get_num_threads()
    if cfg.trainer.cpu_threads:
        torch.set_num_threads(cfg.trainer.cpu_threads)
    try:
        return _train(cfg, callbacks, cfg.trainer.progress_bar if progress is None else progress)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: DistillConfig, callbacks: Sequence[L.Callback], show: bool) -> RunResult:
    from gendistiller.students import build_student
    from gendistiller.teachers import load_teacher, teacher_config

    cfg.data.check_paths()
    student_config = cfg.student.build_config(
        teacher_config=teacher_config(cfg.teacher.spec, **cfg.teacher.overrides)
        if cfg.student.scale_to_teacher
        else None
    )
    run_dir = cfg.run_dir
    resume = resolve_resume(cfg, run_dir / CKPT_DIR, student_config)
    cache = TeacherCache.read(cfg.teacher.cache) if cfg.teacher.cache else None

    # Lightning checks accelerator, devices, precision and strategy here: cheap, so first.
    trainer = build_trainer(cfg, run_dir, list(callbacks), show)
    report = scan_source(cfg.data, progress=show)

    L.seed_everything(cfg.run.seed, verbose=False)
    teacher = load_teacher(cfg.teacher.spec, seed=cfg.teacher.seed, **cfg.teacher.overrides)
    teacher.check_layers(student_config.target_layers)
    student = build_student(student_config)
    if cfg.student.init_from_teacher and resume is None:
        student.init_from_teacher(teacher)
    log.info(
        "teacher %s: %d layers, %.1fM params; student %s: %.2fM params, targets %s",
        cfg.teacher.spec,
        teacher.num_layers,
        sum(p.numel() for p in teacher.parameters()) / 1e6,
        cfg.student.preset,
        student.parameter_count() / 1e6,
        list(student_config.target_layers),
    )

    datamodule = AudioDataModule(report, cfg.data, cfg.run.seed)
    if cache is not None:
        check_cache(cache, cfg, teacher, datamodule, student_config.target_layers)
    module = DistillationModule(student, teacher, cfg, cache)
    if trainer.is_global_zero:
        write_config(cfg, run_dir / CONFIG_FILE)
        remove_stale_temp_files(run_dir / CKPT_DIR)
    if resume is not None:
        log.info("resuming from %s", resume)
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume, weights_only=True)
    except GenDistillerError as err:
        raise _unwrap_worker_error(err) from None
    if trainer.interrupted:
        raise KeyboardInterrupt
    if cache is not None and trainer.is_global_zero:
        (log.warning if module.cache_misses else log.info)(
            "teacher cache: %d batches read, %d not in it (the teacher ran for those)",
            module.cache_hits,
            module.cache_misses,
        )

    student_dir = run_dir / STUDENT_DIR
    if trainer.is_global_zero:
        save_student(module.student, student_dir)
        log.info("data: %s", datamodule.summary())
        log.info("step %d: student saved to %s", trainer.global_step, student_dir)
    return RunResult(
        run_dir,
        student_dir,
        trainer.global_step,
        resume,
        datamodule.summary(),
        module.skipped_steps,
        module.cache_hits,
        module.cache_misses,
    )


def check_cache(
    cache: TeacherCache,
    cfg: DistillConfig,
    teacher: Any,
    datamodule: AudioDataModule,
    layers: Sequence[int],
) -> None:
    """Refuse a teacher cache built for another teacher, seed or data (one line)."""
    from gendistiller.encoders import fingerprint

    settings = cache_settings(cfg, fingerprint(teacher), datamodule.files_digest())
    cache.check(settings, [int(x) for x in layers])
    log.info("teacher cache %s: %d batches", cache.path, cache.batches)


def build_trainer(
    cfg: DistillConfig, run_dir: Path, callbacks: list[L.Callback], progress: bool
) -> L.Trainer:
    t = cfg.trainer
    checkpointing = PeriodicCheckpoint(
        run_dir / CKPT_DIR, cfg.checkpoint.every_n_steps, cfg.checkpoint.keep_last
    )
    bars = [StepProgressBar()] if progress else []
    try:
        return L.Trainer(
            accelerator=t.accelerator,
            devices=t.devices,
            num_nodes=t.num_nodes,
            strategy=t.strategy,
            precision=t.precision,
            max_steps=t.max_steps,
            max_epochs=-1,
            accumulate_grad_batches=t.accumulate_grad_batches,
            gradient_clip_val=t.gradient_clip_val or None,
            gradient_clip_algorithm="norm",
            log_every_n_steps=t.log_every_n_steps,
            logger=[
                TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""),
                CSVLogger(save_dir=str(run_dir), name="csv"),
            ],
            callbacks=[checkpointing, LossLog(run_dir / LOSS_LOG), *bars, *callbacks],
            enable_checkpointing=False,  # PeriodicCheckpoint replaces ModelCheckpoint
            enable_progress_bar=progress,
            enable_model_summary=False,
            plugins=[AtomicCheckpointIO()],
            use_distributed_sampler=False,  # the batch sampler shards by rank itself
            num_sanity_val_steps=0,
            limit_val_batches=0,
            default_root_dir=str(run_dir),
        )
    except (MisconfigurationException, TypeError, ValueError) as err:
        # no such accelerator here, bad device list, unsupported precision, ...
        raise ConfigError(f"trainer: {one_line(err)}") from None


def resolve_resume(cfg: DistillConfig, ckpt_dir: Path, student_config: Any) -> Path | None:
    """The checkpoint to resume from, checked for damage and for matching the student."""
    choice = cfg.run.resume.strip()
    found: tuple[Path, dict[str, Any]] | None
    if choice == "never":
        if list_checkpoints(ckpt_dir):
            raise ConfigError(
                f"run.resume: 'never', but {ckpt_dir} already has checkpoints; use another"
                " run.dir, remove them, or resume with run.resume=auto"
            )
        return None
    if choice == "auto":
        found = find_resume_checkpoint(ckpt_dir)
        if found is None:
            if list_checkpoints(ckpt_dir):
                log.warning("no checkpoint in %s could be read: starting from scratch", ckpt_dir)
            return None
    else:
        path = Path(choice).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"run.resume: {choice} is not a file (use auto, never or a checkpoint path)"
            )
        found = path, read_checkpoint(path)
    path, content = found
    check_compatible(path, content, cfg, student_config)
    return path


def check_compatible(
    path: Path, content: dict[str, Any], cfg: DistillConfig, student_config: Any
) -> None:
    from gendistiller.students.presets import field_names

    saved = content.get(CHECKPOINT_KEY, {})
    saved_student = saved.get("student_config", {})
    now = student_config.to_dict()
    for key in sorted(field_names(type(student_config))):
        if key in saved_student and _norm(saved_student[key]) != _norm(now.get(key)):
            raise CheckpointError(
                f"{path}: trained with student {key}={saved_student[key]!r}, the config now says"
                f" {now.get(key)!r}; resume with the same student, or start a new run.dir"
            )
    changed = _diff(saved.get("config", {}), to_dict(cfg))
    changed = [k for k in changed if k not in ("run.resume",)]
    if changed:
        log.warning("resuming with changed settings: %s", ", ".join(changed))


def write_config(cfg: DistillConfig, path: Path) -> None:
    write_text(
        path,
        "# Resolved config of this run: gendistiller distill --config "
        + str(path)
        + "\n"
        + yaml.safe_dump(to_dict(cfg), sort_keys=False),
    )


def save_student(student: Any, dest: Path) -> None:
    """``save_pretrained`` into a temp folder, then swap it in: never a half-written student."""
    remove_stale_temps(dest.parent, dest.name)
    with atomic_dir(dest) as tmp:
        student.save_pretrained(str(tmp))


def _unwrap_worker_error(err: GenDistillerError) -> GenDistillerError:
    """A DataLoader worker re-raises our error with its whole traceback as the message;
    keep the one line meant for the user."""
    text = str(err)
    if "Traceback" not in text:
        return err
    last = [line for line in text.splitlines() if line.strip()][-1]
    return type(err)(last.split(": ", 1)[-1] if last.startswith("gendistiller.") else last)


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            d for k in keys for d in _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        ]
    return [] if _norm(old) == _norm(new) else [prefix]
