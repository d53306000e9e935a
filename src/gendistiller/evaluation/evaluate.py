"""``gendistiller evaluate``: fidelity, probes and efficiency of several models, one report.

::

    gendistiller evaluate teacher=random:wavlm-tiny student=runs/x/student --out eval/

Models are ``NAME=SPEC`` (any :func:`~gendistiller.encoders.load_encoder` spec);
the model named ``teacher`` (or ``--teacher NAME``, else the first teacher given) is the
reference of every student's fidelity and of the efficiency ratios. What to run is an
:class:`~gendistiller.evaluation.evaluate_config.EvaluateConfig`; the command line is in
:mod:`~gendistiller.evaluation.evaluate_cli`.
"""

from __future__ import annotations

import datetime
import random
import time
from pathlib import Path

import torch

from gendistiller.evaluation import plots
from gendistiller.evaluation.comparisons import (
    fidelity_comparisons,
    probe_comparisons,
    reference_model,
)
from gendistiller.evaluation.controls import run_controls
from gendistiller.evaluation.efficiency import benchmark
from gendistiller.evaluation.evaluate_config import EvaluateConfig, parse_models
from gendistiller.evaluation.fidelity import fidelity, state_layout
from gendistiller.evaluation.probes import DATASETS, TASKS, run_probes
from gendistiller.evaluation.probes.data import TaskData
from gendistiller.evaluation.report import write_json, write_markdown
from gendistiller.evaluation.superb import STUDENT, TEACHER, Upstream, load_upstream

__all__ = ["EvaluateConfig", "evaluate", "parse_models"]


def evaluate(cfg: EvaluateConfig) -> dict:
    """Run everything ``cfg`` asks for and write the report folder; returns report.json's content."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    upstreams = {
        name: load_upstream(spec, name=name, seed=cfg.seed) for name, spec in cfg.models.items()
    }
    teacher = _teacher_name(cfg, upstreams)
    report: dict = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "version": _version(),
        "command": cfg.command,
        "models": {n: _describe(u) for n, u in upstreams.items()},
        "teacher": teacher,
        "tasks": cfg.tasks if cfg.probes else [],
        "notes": _notes(upstreams, cfg),
        "plots": {"fidelity": {}},
        "timings_s": timings,
    }
    corpus = _corpus(cfg) if _needs_corpus(cfg, upstreams, teacher) else None
    if cfg.probes:
        data = {task: _task_data(task, cfg, corpus) for task in cfg.tasks}
        report["data"] = {t: {"source": d.source, "sizes": d.summary()} for t, d in data.items()}
        recipes = (
            {t: TASKS[t].recipe.with_overrides(**cfg.recipe) for t in cfg.tasks}
            if cfg.recipe
            else None
        )
        report["probes"] = {}
        cache = Path(cfg.cache) if cfg.cache else out / "cache"
        for name, up in upstreams.items():
            t0 = time.perf_counter()
            results = run_probes(
                up, data, cache_dir=cache, recipes=recipes, seed=cfg.seed, progress=cfg.progress
            )
            report["probes"][name] = {t: r.as_dict() for t, r in results.items()}
            timings[f"probes {name}"] = round(time.perf_counter() - t0, 1)
        report["reference"] = reference_model(list(upstreams), cfg.reference, teacher)
        report["comparisons"] = probe_comparisons(report["probes"], report["reference"])
        if cfg.controls and teacher is not None:
            t0 = time.perf_counter()
            report["controls"] = run_controls(
                upstreams[teacher], data, recipes=recipes, probe_seed=cfg.seed,
                kinds=cfg.control_noise, cache_dir=cache, progress=cfg.progress, teacher_results=report["probes"][teacher],
            )  # fmt: skip
            timings["controls"] = round(time.perf_counter() - t0, 1)
        elif cfg.controls:
            report["notes"].append("no controls: they need a teacher (--teacher NAME)")
        weights = {
            m: {t: r["layer_weights"] for t, r in res.items()}
            for m, res in report["probes"].items()
        }
        report["plots"]["layer_weights"] = "layer_weights.png"
        plots.layer_weights(weights, out / "layer_weights.png")
    if cfg.fidelity and teacher is not None and corpus is not None:
        t0 = time.perf_counter()
        report["fidelity"] = _fidelity(cfg, upstreams, teacher, corpus, out, report)
        report["fidelity_comparisons"] = fidelity_comparisons(report["fidelity"], cfg.reference)
        timings["fidelity"] = round(time.perf_counter() - t0, 1)
    if cfg.efficiency:
        t0 = time.perf_counter()
        bench = benchmark(
            upstreams,
            repeats=cfg.repeats,
            memory=cfg.memory,
            reference=teacher,
            progress=cfg.progress,
        )
        report["efficiency"] = bench
        report["plots"]["efficiency"] = "efficiency.png"
        plots.efficiency_chart(bench, out / "efficiency.png")
        timings["efficiency"] = round(time.perf_counter() - t0, 1)
    timings["total"] = round(time.perf_counter() - start, 1)
    write_json(out / "report.json", report)
    write_markdown(out / "report.md", report)
    return report


def _teacher_name(cfg: EvaluateConfig, upstreams: dict[str, Upstream]) -> str | None:
    if cfg.teacher:
        return cfg.teacher
    if "teacher" in upstreams:
        return "teacher"
    return next((n for n, u in upstreams.items() if u.kind == TEACHER), None)


def _needs_corpus(cfg: EvaluateConfig, upstreams: dict[str, Upstream], teacher: str | None) -> bool:
    covered = {DATASETS[name] for name in cfg.data}
    if cfg.probes and any(t not in covered for t in cfg.tasks):
        return True
    students = [n for n, u in upstreams.items() if u.kind == STUDENT and n != teacher]
    return cfg.fidelity and teacher is not None and bool(students)


def _corpus(cfg: EvaluateConfig):
    from gendistiller.corpus import default_corpus, load_corpus

    if cfg.corpus:
        return load_corpus(cfg.corpus)
    return default_corpus(cfg.corpus_size, progress=cfg.progress)


def _task_data(task: str, cfg: EvaluateConfig, corpus) -> TaskData:
    readers = TASKS[task].datasets
    given = [name for name in cfg.data if name in readers]
    if not given:
        return TASKS[task].from_corpus(corpus).check()
    name, root = given[0], cfg.data[given[0]]
    if name == "speech_commands":
        return readers[name](root, cfg.speech_commands_test or None, seed=cfg.seed).check()
    if name == "librispeech":
        return readers[name](root, cfg.librispeech_subsets).check()
    return readers[name](root).check()


def _fidelity(
    cfg: EvaluateConfig,
    upstreams: dict[str, Upstream],
    teacher: str,
    corpus,
    out: Path,
    report: dict,
) -> dict:
    held_out = [r for r in corpus.records if r.split == "test"]
    random.Random(cfg.seed).shuffle(held_out)
    held_out = held_out[: cfg.fidelity_utterances]
    results = {}
    for name, up in upstreams.items():
        if up.kind != STUDENT or name == teacher:
            continue
        if up.hidden_size != upstreams[teacher].hidden_size:
            report["notes"].append(f"no fidelity for {name}: its width differs from the teacher's")
            continue
        waves = (corpus.load(r) for r in held_out)
        ids = [r.id for r in held_out]
        result = fidelity(up, upstreams[teacher], waves, metric=cfg.similarity, ids=ids)
        results[name] = result.as_dict()
        path = f"fidelity-{_safe(name)}.png"
        labels = state_layout(up)[1]
        plots.similarity_heatmap(
            result.similarity, out / path, title=f"{name} vs {teacher}", metric=cfg.similarity.upper(),
            student_labels=labels, state_targets=result.state_targets,
        )  # fmt: skip
        report["plots"]["fidelity"][name] = path
    return results


def _describe(up: Upstream) -> dict:
    return {
        "spec": up.spec,
        "kind": up.kind,
        "architecture": up.architecture,
        "parameters": up.parameter_count(),
        "hidden_size": up.hidden_size,
        "hidden_states": up.num_hidden_states,
        "target_layers": up.target_layers,
        "fingerprint": up.fingerprint(),
    }


def _notes(upstreams: dict[str, Upstream], cfg: EvaluateConfig) -> list[str]:
    notes = []
    for name, up in upstreams.items():
        if up.spec.startswith("random:"):
            notes.append(
                f"{name} is a teacher with random weights ({up.spec}): not a trained model."
            )
        elif up.kind == STUDENT and not Path(up.spec).expanduser().exists():
            notes.append(
                f"{name} is the {up.spec} preset with random weights (seed {cfg.seed}): not trained."
            )
    if cfg.controls and not cfg.probes:
        notes.append("no controls: they need the probes (--no-probes was given)")
    if cfg.recipe:
        notes.append(
            f"probe recipes overridden ({cfg.recipe}): scores do not compare with the standard recipes."
        )
    return notes


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _version() -> str:
    from gendistiller import __version__

    return __version__
