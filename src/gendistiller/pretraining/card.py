"""The embedded teacher's model card, its evaluation against a random-weight twin, and the
install step that copies it into the package (``gendistiller/assets/embedded_teacher``)."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path
from typing import Any

import torch

from gendistiller import io
from gendistiller.corpus import default_corpus, load_corpus
from gendistiller.pretraining.config import PretrainConfig
from gendistiller.pretraining.run import PretrainResult
from gendistiller.teachers import EMBEDDED_DIR, Teacher

CARD_NAME = "MODEL_CARD.md"
FACTS_NAME = "card.json"
CARD_TASKS = ("pr", "sid")


def probe_scores(
    teacher: Teacher, corpus, *, seed: int, progress: bool
) -> dict[str, dict[str, Any]]:
    """PR and SID probe results of ``teacher`` on ``corpus`` (evaluation's fixed recipes)."""
    from gendistiller.evaluation.probes import TASKS, run_probes
    from gendistiller.evaluation.superb import Upstream

    data = {task: TASKS[task].from_corpus(corpus) for task in CARD_TASKS}
    results = run_probes(Upstream(teacher, teacher.name), data, seed=seed, progress=progress)
    return {task: r.as_dict() for task, r in results.items()}


def card_facts(
    cfg: PretrainConfig, result: PretrainResult, scores: dict, twin_scores: dict
) -> dict:
    weights = result.teacher_dir / "model.safetensors"
    teacher = Teacher.from_pretrained(result.teacher_dir)
    return {
        "name": "embedded",
        "architecture": "HubertModel",
        "parameters": sum(p.numel() for p in teacher.parameters()),
        "file_bytes": weights.stat().st_size,
        "stored_dtype": "float16",
        "num_hidden_layers": teacher.num_layers,
        "hidden_size": teacher.hidden_size,
        "recipe": {k: v for k, v in vars(cfg).items() if k != "out"},
        "steps": result.steps,
        "final_masked_loss": round(result.final_loss, 4),
        "final_masked_accuracy": round(result.final_masked_accuracy, 4),
        "train_hours_of_audio": round(result.train_hours, 3),
        "train_utterances": result.train_utterances,
        "wall_minutes": round(result.seconds / 60, 1),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "probes": {
            task: {
                "metric": scores[task]["metric"],
                "lower_is_better": scores[task]["lower_is_better"],
                "pretrained": round(scores[task]["test"], 2),
                "random_twin": round(twin_scores[task]["test"], 2),
                "chance": round(scores[task]["chance"], 2),
            }
            for task in CARD_TASKS
        },
    }


def render_card(facts: dict) -> str:
    r = facts["recipe"]
    rows = "\n".join(
        f"| {task.upper()} | {p['metric']} ({'lower' if p['lower_is_better'] else 'higher'} is better) "
        f"| {p['pretrained']:.2f} | {p['random_twin']:.2f} | {p['chance']:.2f} |"
        for task, p in facts["probes"].items()
    )
    return f"""# The embedded teacher

A small HuBERT pretrained by this project so that distillation runs offline, on a
teacher that has learned something. Load it with `gendistiller.load_teacher("embedded")`
(or `teacher.spec: embedded` in a recipe).

| | |
|---|---|
| architecture | transformers `HubertModel`: 7-layer conv encoder ({r["conv_channels"]} channels, group norm, stride 320), {facts["num_hidden_layers"]} post-LN blocks × {facts["hidden_size"]} d, {r["num_attention_heads"]} heads, FFN {r["intermediate_size"]} |
| parameters | {facts["parameters"]:,} |
| file | `model.safetensors`, {facts["file_bytes"] / 1e6:.2f} MB ({facts["stored_dtype"]}; loaded as float32) |

## Training

HuBERT's first iteration: masked prediction (span length {r["mask_length"]}, about
{r["mask_prob"]:.0%} of frames covered) of {r["num_clusters"]} k-means clusters of MFCCs
(13 coefficients + deltas + delta-deltas, 25 ms windows every 20 ms{", each dimension standardised" if r["standardize_mfcc"] else ""}).
Loss: cross-entropy on masked frames + {r["unmasked_weight"]} × cross-entropy on unmasked
frames (HuBERT's base recipe uses masked frames only; with about a thousand CPU steps,
the unmasked term is what gets the encoder learning, see `docs/embedded-teacher.md`).

- data: the default offline corpus (`gendistiller corpus`), generic `train` split:
  {facts["train_utterances"]:,} utterances, {facts["train_hours_of_audio"]:.2f} h; speakers of the dev/test
  splits never seen
- {facts["steps"]} steps, batch {r["batch_size"]} × {r["crop_seconds"]} s crops, AdamW peak LR {r["lr"]},
  {r["warmup_ratio"]:.0%} warm-up then linear decay, weight decay {r["weight_decay"]}, clip {r["grad_clip"]}, seed {r["seed"]}
- final masked-prediction loss {facts["final_masked_loss"]:.3f}, masked accuracy {facts["final_masked_accuracy"]:.3f}
- wall time {facts["wall_minutes"]} min on {facts["machine"]} (shared with other work)

Reproduce: `gendistiller pretrain-teacher --install` (same defaults).

## Did it learn something?

SUPERB-style probes (evaluation's fixed recipes; frozen model, weighted sum of all
hidden states) on the default corpus, test split, against the same architecture with
random weights (seed {r["seed"]}):

| task | metric | pretrained | random twin | chance |
|---|---|---|---|---|
{rows}
"""


def install_embedded(cfg: PretrainConfig, result: PretrainResult, *, progress: bool = True) -> Path:
    """Score the teacher and its random twin, write the card next to the weights, and copy
    config, weights and card into the package."""
    corpus = (
        load_corpus(cfg.corpus)
        if cfg.corpus
        else default_corpus(size=cfg.corpus_size, progress=progress)
    )
    trained = Teacher.from_pretrained(result.teacher_dir)
    trained.name = "embedded"
    twin = Teacher.from_config(trained.config, seed=cfg.seed, name="random twin")
    facts = card_facts(
        cfg,
        result,
        probe_scores(trained, corpus, seed=cfg.seed, progress=progress),
        probe_scores(twin, corpus, seed=cfg.seed, progress=progress),
    )
    io.write_json(result.teacher_dir / FACTS_NAME, facts)
    io.write_text(result.teacher_dir / CARD_NAME, render_card(facts))
    EMBEDDED_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", FACTS_NAME, CARD_NAME):
        shutil.copy2(result.teacher_dir / name, EMBEDDED_DIR / name)
    return EMBEDDED_DIR
