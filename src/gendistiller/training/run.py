"""One distillation run, from a validated config to an exported student.

Order matters: everything cheap and checkable (config, paths, the checkpoint to resume
from) comes before the data scan, which comes before the teacher download, so that a
mistake costs seconds. The run folder holds ``config.yaml`` (resolved), ``checkpoints/``,
``tensorboard/``, ``csv/``, ``loss.jsonl`` (the loss of every step), ``frontend_stage/``
(the same for the front-end stage, when there is one: :mod:`.frontend_stage`) and, at the
end, ``student/`` (``save_pretrained`` layout).
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

from gendistiller.config import to_dict
from gendistiller.data.module import AudioDataModule
from gendistiller.data.sources import scan_source
from gendistiller.errors import ConfigError
from gendistiller.io import atomic_dir, remove_stale_temps, write_text
from gendistiller.training.checkpoints import (
    CKPT_DIR,
    check_compatible,
    find_resume_checkpoint,
    list_checkpoints,
    read_checkpoint,
    remove_stale_temp_files,
)
from gendistiller.training.config import DistillConfig
from gendistiller.training.frontend_stage import (
    STAGE,
    STAGE_DIR,
    FrontendStageModule,
    check_stage,
    stage_state,
)
from gendistiller.training.module import DistillationModule
from gendistiller.training.teacher_cache import TeacherCache, cache_settings
from gendistiller.training.trainer import build_trainer, fit

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
    # steps of the front-end stage that this call ran or loaded (0 when it resumed the
    # main stage: the main checkpoint holds the stage's result)
    frontend_stage_steps: int = 0


def train(
    cfg: DistillConfig, *, callbacks: Sequence[L.Callback] = (), progress: bool | None = None
) -> RunResult:
    """Train (or resume) the run described by ``cfg``; returns where things were written.
    ``callbacks`` go to every fit of the run: the front-end stage's, then the main one's."""
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
    stage_steps = 0
    if cfg.frontend_stage.steps and resume is None:  # a main checkpoint holds its result
        stage_steps = frontend_stage(cfg, student, teacher, report, cache, callbacks, show)
    if resume is not None:
        log.info("resuming from %s", resume)
    fit(trainer, module, datamodule, resume)
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
        stage_steps,
    )


def frontend_stage(
    cfg: DistillConfig,
    student: Any,
    teacher: Any,
    report: Any,
    cache: TeacherCache | None,
    callbacks: Sequence[L.Callback],
    show: bool,
) -> int:
    """Run the front-end stage, resume it, or, when it has finished, load its result;
    returns its steps done."""
    folder = cfg.run_dir / STAGE_DIR
    found = find_resume_checkpoint(folder / CKPT_DIR)
    if found is not None:
        check_compatible(*found, cfg, student.config, stage=STAGE)
        if found[1]["global_step"] >= cfg.frontend_stage.steps:
            student.load_state_dict(stage_state(found[1]))
            log.info("front-end stage: finished (%s), not run again", found[0])
            return int(found[1]["global_step"])
        log.info("front-end stage: resuming from %s", found[0])
    check_stage(student, teacher, cfg.frontend_stage.target)
    module = FrontendStageModule(student, teacher, cfg, cache)
    trainer = build_trainer(cfg, folder, list(callbacks), show, cfg.frontend_stage.steps)
    if trainer.is_global_zero:
        remove_stale_temp_files(folder / CKPT_DIR)
    data = AudioDataModule(report, cfg.data, cfg.run.seed)  # the main run's stream, own state
    try:
        fit(trainer, module, data, found[0] if found else None)
    finally:
        module.release()
    hits = f"; teacher cache: {module.cache_hits} read, {module.cache_misses} not in it"
    log.info("front-end stage: %d steps done%s", trainer.global_step,
             hits if module.cached_layer0 else "")  # fmt: skip
    return trainer.global_step


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


def resolve_resume(cfg: DistillConfig, ckpt_dir: Path, student_config: Any) -> Path | None:
    """The checkpoint to resume from, checked for damage and for matching the student."""
    choice = cfg.run.resume.strip()
    found: tuple[Path, dict[str, Any]] | None
    if choice == "never":
        for folder in (ckpt_dir, ckpt_dir.parent / STAGE_DIR / CKPT_DIR):
            if list_checkpoints(folder):
                raise ConfigError(
                    f"run.resume: 'never', but {folder} already has checkpoints; use another"
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
