"""What the front-end distillation stage buys a fast student, at a fair compute budget.

Trains, for each seed, on the ``demo`` recipe's data (the default offline corpus's
training speakers, embedded teacher, batch 8, crops of at most 1.5 s; teacher forcing
0.5), students scaled to the teacher:

- ``fast``: ``gendistiller-fast``, ``--main-steps`` main steps;
- ``fast+extra``: the same with ``--main-steps + --stage-steps`` main steps (the compute
  of the stage spent on the main distillation instead);
- ``fast+stage:TARGET:TRAINABLE``: ``--stage-steps`` front-end stage steps
  (``frontend_stage.target``, ``.trainable``), then ``--main-steps`` main steps;
- ``base``: ``gendistiller-base`` (the teacher-initialised CNN), ``--main-steps``.

Then scores each on held-out test utterances (speakers never trained on): per target
layer (and layer 0), the mean cosine between the student's free-running prediction and
the teacher's layer over valid frames, and paired differences between variants with 95%
bootstrap intervals over utterances and seeds (``evaluation.statistics.paired_difference``
on per-utterance cosine sums and frame counts: 100 x the frame-weighted mean cosine, the
score ``compare_fidelity`` of the evaluation module uses). Also scored: the fast student
at initialisation and right after each stage (before its main steps). Step times are the
median wall time of a training step of each fit. Prints JSON, then a table.

    python benchmarks/frontend_stage.py --main-steps 150 --stage-steps 150 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
import yaml

from gendistiller.corpus import default_corpus
from gendistiller.evaluation.statistics import item_scores, paired_difference
from gendistiller.evaluation.superb import Upstream, load_upstream
from gendistiller.io import write_json
from gendistiller.measure import torch_threads
from gendistiller.students import build_student
from gendistiller.teachers import load_teacher, teacher_config
from gendistiller.training.checkpoints import find_resume_checkpoint
from gendistiller.training.config import load_config
from gendistiller.training.frontend_stage import STAGE_DIR, stage_state
from gendistiller.training.run import train


class StepTimer(L.Callback):
    """Wall time of every training step, per LightningModule class."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self._start = 0.0

    def on_train_batch_start(self, trainer, pl_module, *args):
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, *args):
        name = type(pl_module).__name__
        self.times.setdefault(name, []).append(time.perf_counter() - self._start)


def scores(student: Upstream, teacher: Upstream, waves: list[np.ndarray]) -> dict:
    """Per layer (0 and the targets): per-utterance cosine sums and valid frames."""
    layers = [0, *student.target_layers]
    sums = {layer: [] for layer in layers}
    frames: list[int] = []
    for start in range(0, len(waves), 8):
        batch = waves[start : start + 8]
        lengths = torch.tensor([len(w) for w in batch])
        x = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(w) for w in batch], True)
        s, t = student.extract(x, lengths), teacher.extract(x, lengths)
        n = min(s.hidden_states[0].shape[1], t.hidden_states[0].shape[1])
        valid = (torch.arange(n)[None] < s.lengths[:, None]).double()
        preds = [s.hidden_states[0], *s.predictions]
        for layer, pred in zip(layers, preds, strict=True):
            cos = F.cosine_similarity(pred[:, :n], t.hidden_states[layer][:, :n], dim=-1)
            sums[layer] += (cos.double() * valid).sum(1).tolist()
        frames += valid.sum(1).long().tolist()
    return {"frames": frames, "cos_sums": {str(k): v for k, v in sums.items()}}


def mean_cosine(score: dict, layer: str) -> float:
    return float(np.sum(score["cos_sums"][layer]) / np.sum(score["frames"]))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--main-steps", type=int, default=150)
    p.add_argument("--stage-steps", type=int, default=150)
    p.add_argument("--stage", action="append", metavar="TARGET:TRAINABLE[:LR]",
                   help="a stage variant (repeatable; default: the config's)")  # fmt: skip
    p.add_argument("--fast-override", action="append", default=[], metavar="KEY=VALUE",
                   help="a student config key for every fast variant (named after it), e.g."
                   " transformer_stride=1")  # fmt: skip
    p.add_argument("--extra", type=int, nargs="*", default=[], metavar="K",
                   help="also fast students with --main-steps + K main steps (e.g. K = the"
                   " main steps the stage's time buys)")  # fmt: skip
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--utterances", type=int, default=200, help="held-out test utterances")
    p.add_argument("--no-base", action="store_true", help="skip gendistiller-base")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--keep", default="",
                   help="folder for the runs (default: a temp one); a run already scored there"
                   " is read back, not trained again")  # fmt: skip
    args = p.parse_args(argv)
    corpus = default_corpus(size="default", progress=False)
    held_out = [r for r in corpus.records if r.split == "test"]
    random.Random(0).shuffle(held_out)
    waves = [corpus.load(r) for r in held_out[: args.utterances]]
    default = load_config("demo").frontend_stage
    stages = args.stage or [f"{default.target}:{default.trainable}:{default.lr:g}"]
    m, n = args.main_steps, args.stage_steps
    over = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in args.fast_override)}
    tag = "".join(f"[{o}]" for o in args.fast_override)
    variants: dict[str, tuple[str, int, dict]] = {
        f"fast{tag}": ("gendistiller-fast", m, {}),
        f"fast{tag}+extra": ("gendistiller-fast", m + n, {}),
        **{f"fast{tag}+{k} steps": ("gendistiller-fast", m + k, {}) for k in args.extra},
    }
    for spec in stages:
        target, trainable, *lr = spec.split(":")
        stage = {"steps": n, "target": target, "trainable": trainable}
        stage = {**stage, "lr": lr[0]} if lr else stage
        variants[f"fast{tag}+stage:{spec}"] = ("gendistiller-fast", m, stage)
    if not args.no_base:
        variants["base"] = ("gendistiller-base", m, {})
    report: dict = {"main_steps": m, "stage_steps": n, "seeds": args.seeds,
                    "utterances": len(waves), "threads": args.threads, "runs": {}}  # fmt: skip
    with torch_threads(args.threads), tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp)
        manifest = corpus.write_manifest(out / "train.tsv")
        teacher = load_upstream("embedded")
        for seed in args.seeds:
            for name, (preset, steps, stage) in variants.items():
                cfg = load_config("demo").merged(
                    run={"dir": out / f"{name.replace(':', '-')}-seed{seed}", "seed": seed},
                    teacher={"spec": "embedded"},
                    student={"preset": preset, "overrides": over if "fast" in preset else {}},
                    data={"manifest": manifest, "root": corpus.root},
                    frontend_stage=stage,
                    trainer={
                        "progress_bar": False,
                        "max_steps": steps,
                        "cpu_threads": args.threads,
                    },  # fmt: skip
                )
                run = run_variant(cfg, teacher, waves)
                report["runs"][f"{name}/seed{seed}"] = run
                print(f"{name} seed {seed}: {run['seconds']:.0f} s", flush=True)
            init_run = {"scores": scores(init(seed, "gendistiller-fast", over), teacher, waves)}
            report["runs"][f"fast{tag}-init/seed{seed}"] = init_run
            if not args.no_base:
                init_run = {"scores": scores(init(seed, "gendistiller-base", {}), teacher, waves)}
                report["runs"][f"base-init/seed{seed}"] = init_run
    report["comparisons"] = compare(report, list(variants), args.seeds)
    print(json.dumps(report_summary(report), indent=2))
    print(table(report, list(variants), args.seeds))
    return report


def run_variant(cfg, teacher: Upstream, waves: list[np.ndarray]) -> dict:
    """Train one variant and score it, or read back what an earlier call wrote."""
    saved = cfg.run_dir / "benchmark.json"
    if saved.is_file():
        run = json.loads(saved.read_text())
        if len(run["scores"]["frames"]) == len(waves):
            return run
    timer = StepTimer()
    start = time.perf_counter()
    result = train(cfg, callbacks=[timer])
    run = {
        "seconds": time.perf_counter() - start,
        "s_per_step": {k: statistics.median(v) for k, v in timer.times.items()},
        "steps": {k: len(v) for k, v in timer.times.items()},
        "scores": scores(load_upstream(result.student_dir), teacher, waves),
    }
    if cfg.frontend_stage.steps:  # the student right after the stage, before its main steps
        run["after_stage"] = scores(after_stage(cfg, result), teacher, waves)
    write_json(saved, run)
    return run


def after_stage(cfg, result) -> Upstream:
    student = load_upstream(result.student_dir).model
    ckpt = find_resume_checkpoint(cfg.run_dir / STAGE_DIR / "checkpoints")
    student.load_state_dict(stage_state(ckpt[1]))
    return Upstream(student, "after stage")


def init(seed: int, preset: str, overrides: dict) -> Upstream:
    """A student as the stage and the main distillation find it."""
    cfg = load_config("demo").merged(teacher={"spec": "embedded"},
                                     student={"preset": preset, "overrides": overrides})  # fmt: skip
    L.seed_everything(seed, verbose=False)
    student = build_student(cfg.student.build_config(teacher_config=teacher_config("embedded")))
    student.init_from_teacher(load_teacher("embedded"))
    return Upstream(student, f"{preset} at init")


def compare(report: dict, names: list[str], seeds: list[int]) -> dict:
    """Paired differences (x100 cosine, 95% CI) for the pairs that answer the question."""
    unstaged = [v for v in names if "+stage" not in v and v != "base"]  # fast, with extra steps
    staged = [v for v in names if "+stage" in v]
    pairs = [(v, u) for u in unstaged for v in staged]
    pairs += [(v, "base") for v in names if v != "base" and "base" in names]
    fast = unstaged[0]
    layers = list(report["runs"][f"{fast}/seed{seeds[0]}"]["scores"]["cos_sums"])
    out = {}
    for a, b in pairs:
        out[f"{a} - {b}"] = {
            layer: paired_difference(
                *[
                    [
                        item_scores(
                            report["runs"][f"{v}/seed{s}"]["scores"]["cos_sums"][layer],
                            report["runs"][f"{v}/seed{s}"]["scores"]["frames"],
                        )
                        for s in seeds
                    ]
                    for v in (a, b)
                ]
            ).to_dict()  # fmt: skip
            for layer in layers
        }
    return out


def report_summary(report: dict) -> dict:
    """The report without the per-utterance lists: mean cosines, step times, differences."""
    runs = {}
    for key, run in report["runs"].items():
        short = {k: v for k, v in run.items() if k not in ("scores", "after_stage")}
        short["cosine"] = {layer: round(mean_cosine(run["scores"], layer), 4)
                           for layer in run["scores"]["cos_sums"]}  # fmt: skip
        if "after_stage" in run:
            short["cosine_after_stage"] = {
                layer: round(mean_cosine(run["after_stage"], layer), 4)
                for layer in run["after_stage"]["cos_sums"]
            }
        runs[key] = short
    return {**{k: v for k, v in report.items() if k != "runs"}, "runs": runs}


def table(report: dict, names: list[str], seeds: list[int]) -> str:
    runs = report["runs"]
    layers = list(runs[f"{names[0]}/seed{seeds[0]}"]["scores"]["cos_sums"])
    head = (
        "| variant | "
        + " | ".join(f"cos layer {x}" for x in layers)
        + " | s/step main | s/step stage |"
    )
    lines = [head, "|---|" + "---:|" * (len(layers) + 2)]
    inits = [f"{names[0]}-init"] + (["base-init"] if "base" in names else [])
    for name in [*inits, *names]:
        per_seed = [runs[f"{name}/seed{s}"] for s in seeds]
        cos = [np.mean([mean_cosine(r["scores"], x) for r in per_seed]) for x in layers]
        steps = [r.get("s_per_step", {}) for r in per_seed]
        main_t = [s["DistillationModule"] for s in steps if "DistillationModule" in s]
        stage_t = [s["FrontendStageModule"] for s in steps if "FrontendStageModule" in s]
        fmt = lambda v: f"{np.mean(v):.3f}" if v else "-"  # noqa: E731
        lines.append(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cos)
                     + f" | {fmt(main_t)} | {fmt(stage_t)} |")  # fmt: skip
        if "+stage" in name:
            after = [np.mean([mean_cosine(r["after_stage"], x) for r in per_seed]) for x in layers]
            lines.append("| ↳ after its stage only | " + " | ".join(f"{c:.4f}" for c in after)
                         + " | | |")  # fmt: skip
    lines += ["", "| difference (x100 cosine, 95% CI) | " + " | ".join(f"layer {x}" for x in layers) + " |",
              "|---|" + "---:|" * len(layers)]  # fmt: skip
    for pair, per_layer in report["comparisons"].items():
        cells = [
            f"{d['diff']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]" for d in per_layer.values()
        ]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
