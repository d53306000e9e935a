"""``pretrain-teacher`` end to end: corpus -> MFCC k-means targets -> masked prediction ->
a teacher folder (``config.json`` + fp16 ``model.safetensors``) loadable by
:func:`gendistiller.teachers.load_teacher`.

Killed runs resume exactly: the k-means codebook is saved before training starts,
batches are a function of (seed, step), and checkpoints are written atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from safetensors.torch import save_file as save_torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from gendistiller.config import to_dict
from gendistiller.corpus import default_corpus, load_corpus
from gendistiller.io import atomic_dir, atomic_path, remove_stale_temps, write_json
from gendistiller.pretraining.config import PretrainConfig
from gendistiller.pretraining.data import MaskedCrops
from gendistiller.pretraining.module import MaskedPredictionModule
from gendistiller.pretraining.targets import Codebook, mfcc
from gendistiller.training.checkpoints import (
    CKPT_DIR,
    AtomicCheckpointIO,
    PeriodicCheckpoint,
    find_resume_checkpoint,
    remove_stale_temp_files,
)
from gendistiller.training.progress import StepProgressBar

log = logging.getLogger(__name__)

TEACHER_DIR = "teacher"
CODEBOOK = "kmeans.safetensors"


@dataclass
class PretrainResult:
    teacher_dir: Path
    steps: int
    final_loss: float
    final_masked_accuracy: float
    seconds: float
    train_hours: float
    train_utterances: int


class _Module(MaskedPredictionModule):
    """Builds its data stream when Lightning asks, after a resume has restored the step."""

    def __init__(self, cfg: PretrainConfig, waves: list[np.ndarray], labels: list[np.ndarray]):
        super().__init__(cfg)
        self._data = (waves, labels)  # a tuple: not saved in checkpoints
        self.history: list[tuple[int, float, float]] = []

    def train_dataloader(self) -> DataLoader:
        cfg = self.cfg
        stream = MaskedCrops(
            *self._data,
            batch_size=cfg.batch_size,
            crop_samples=int(cfg.crop_seconds * 16000),
            mask_prob=cfg.mask_prob,
            mask_length=cfg.mask_length,
            seed=cfg.seed,
            steps=cfg.steps,
            start=self.trainer.global_step,
        )
        return DataLoader(stream, batch_size=None, num_workers=0)

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        m = self.trainer.callback_metrics
        self.history.append(
            (self.trainer.global_step, float(m["masked_loss"]), float(m["masked_acc"]))
        )


def pretrain(
    cfg: PretrainConfig, *, progress: bool = True, callbacks: Sequence[L.Callback] = ()
) -> PretrainResult:
    start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", to_dict(cfg))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    corpus = (
        load_corpus(cfg.corpus)
        if cfg.corpus
        else default_corpus(size=cfg.corpus_size, progress=progress)
    )
    records = corpus.split("all", "train")
    waves = [corpus.load(r) for r in tqdm(records, desc="load audio", disable=not progress)]
    feats = [mfcc(w) for w in tqdm(waves, desc="MFCC", disable=not progress)]
    codebook_path = out / CODEBOOK
    if codebook_path.is_file():  # a resumed run must use the same targets
        codebook = Codebook.load(codebook_path)
    else:
        codebook = Codebook.fit(
            np.concatenate(feats),
            cfg.num_clusters,
            seed=cfg.seed,
            max_frames=cfg.kmeans_frames,
            standardize=cfg.standardize_mfcc,
        )
        with atomic_path(codebook_path) as tmp:
            codebook.save(tmp)
    labels = [codebook.assign(f) for f in feats]

    module = _Module(cfg, waves, labels)
    ckpt_dir = out / CKPT_DIR
    remove_stale_temp_files(ckpt_dir)
    found = find_resume_checkpoint(ckpt_dir)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=cfg.steps,
        max_epochs=-1,
        gradient_clip_val=cfg.grad_clip,
        gradient_clip_algorithm="norm",
        logger=CSVLogger(save_dir=str(out), name="csv", version=""),
        log_every_n_steps=10,
        callbacks=[PeriodicCheckpoint(ckpt_dir, cfg.checkpoint_every, keep_last=2), *callbacks]
        + ([StepProgressBar(description="pretrain")] if progress else []),
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        num_sanity_val_steps=0,
        limit_val_batches=0,
        default_root_dir=str(out),
    )
    trainer.fit(module, ckpt_path=str(found[0]) if found else None)
    teacher_dir = save_teacher(module, out / TEACHER_DIR)
    step, loss, acc = (
        module.history[-1] if module.history else (trainer.global_step, float("nan"), float("nan"))
    )
    return PretrainResult(
        teacher_dir=teacher_dir,
        steps=trainer.global_step,
        final_loss=loss,
        final_masked_accuracy=acc,
        seconds=time.perf_counter() - start,
        train_hours=sum(len(w) for w in waves) / 16000 / 3600,
        train_utterances=len(waves),
    )


def save_teacher(module: MaskedPredictionModule, dest: Path) -> Path:
    """The encoder alone, in fp16 (half the size; loaded back as fp32)."""
    encoder = module.encoder
    state = {k: v.detach().to(torch.float16).clone() for k, v in encoder.state_dict().items()}
    remove_stale_temps(dest.parent, dest.name)
    with atomic_dir(dest) as tmp:
        encoder.config.save_pretrained(tmp)
        save_torch(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    return dest
