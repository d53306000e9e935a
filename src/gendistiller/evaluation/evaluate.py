"""``gendistiller evaluate``: fidelity, probes and efficiency of several models, one report.

::

    gendistiller evaluate teacher=random:wavlm-tiny student=runs/x/student --out eval/

Models are ``NAME=SPEC`` (any :func:`~gendistiller.encoders.load_encoder` spec);
the model named ``teacher`` (or ``--teacher NAME``, else the first teacher given) is the
reference of every student's fidelity and of the efficiency ratios.
"""

from __future__ import annotations

import argparse
import datetime
import random
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gendistiller.errors import ConfigError
from gendistiller.evaluation import plots
from gendistiller.evaluation.efficiency import benchmark
from gendistiller.evaluation.fidelity import METRICS, fidelity
from gendistiller.evaluation.probes import DATASETS, TASKS, Recipe, parse_tasks, run_probes
from gendistiller.evaluation.probes.asr import LIBRISPEECH_SUBSETS
from gendistiller.evaluation.probes.data import TaskData
from gendistiller.evaluation.report import write_json, write_markdown
from gendistiller.evaluation.superb import STUDENT, TEACHER, Upstream, load_upstream


@dataclass
class EvaluateConfig:
    """What ``evaluate`` runs; every field has a CLI flag of the same name."""

    models: dict[str, str]
    out: str = "evaluation"
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    corpus: str = ""  # a corpus folder; default: the cached corpus of corpus_size
    corpus_size: str = "default"
    data: dict[str, str] = field(default_factory=dict)  # dataset name -> root
    speech_commands_test: str = ""
    librispeech_subsets: tuple[str, ...] = LIBRISPEECH_SUBSETS
    teacher: str = ""
    fidelity: bool = True
    probes: bool = True
    efficiency: bool = True
    memory: bool = True
    fidelity_utterances: int = 200
    similarity: str = "cka"
    repeats: int = 3
    recipe: dict[str, float] = field(default_factory=dict)  # overrides for every task (quick runs)
    cache: str = ""  # feature cache; default <out>/cache
    seed: int = 0
    progress: bool = True
    command: str = ""

    def validate(self) -> None:
        if not self.models:
            raise ConfigError("models: give at least one NAME=SPEC")
        for name in self.data:
            if name not in DATASETS:
                raise ConfigError(
                    f"--data: unknown dataset {name!r}; choose one of {', '.join(DATASETS)}"
                )
        if self.teacher and self.teacher not in self.models:
            raise ConfigError(
                f"--teacher: no model named {self.teacher!r} (models: {', '.join(self.models)})"
            )
        if self.similarity not in METRICS:
            raise ConfigError(f"--similarity: choose one of {', '.join(METRICS)}")
        for key in ("fidelity_utterances", "repeats"):
            if getattr(self, key) < 1:
                raise ConfigError(f"--{key.replace('_', '-')}: must be at least 1")


def parse_models(items: list[str]) -> dict[str, str]:
    """``["teacher=random:wavlm", "runs/x"]`` -> ``{"teacher": "random:wavlm", "x": "runs/x"}``."""
    models: dict[str, str] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep:
            name, spec = Path(item.rstrip("/")).name or item, item
        if not name or not spec:
            raise ConfigError(f"model {item!r}: expected NAME=SPEC")
        if name in models:
            raise ConfigError(f"model name {name!r} given twice")
        models[name] = spec
    return models


def evaluate(cfg: EvaluateConfig) -> dict:
    """Run everything ``cfg`` asks for and write the report folder; returns report.json's content."""
    cfg.validate()
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
        weights = {
            m: {t: r["layer_weights"] for t, r in res.items()}
            for m, res in report["probes"].items()
        }
        report["plots"]["layer_weights"] = "layer_weights.png"
        plots.layer_weights(weights, out / "layer_weights.png")
    if cfg.fidelity and teacher is not None and corpus is not None:
        t0 = time.perf_counter()
        report["fidelity"] = _fidelity(cfg, upstreams, teacher, corpus, out, report)
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
        result = fidelity(up, upstreams[teacher], waves, metric=cfg.similarity)
        results[name] = result.as_dict()
        path = f"fidelity-{_safe(name)}.png"
        labels = ["x0"] + [f"h{k}" for k in range(1, up.num_hidden_states)]
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


# --- CLI ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", metavar="NAME=SPEC",
                        help="models to compare: a saved student folder (or run folder), a student preset, "
                             "or a teacher (hub id, folder, random:TYPE[-tiny])")  # fmt: skip
    parser.add_argument(
        "--out", default="evaluation", help="report folder (report.md, report.json, plots)"
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help="probe tasks, comma-separated")
    parser.add_argument(
        "--teacher",
        default="",
        help="name of the reference model (default: 'teacher', else the first teacher)",
    )
    parser.add_argument(
        "--corpus", default="", help="corpus folder (default: the cached offline corpus)"
    )
    parser.add_argument(
        "--corpus-size",
        default="default",
        help="size of the cached corpus when --corpus is not given",
    )
    parser.add_argument("--data", action="append", default=[], metavar="DATASET=ROOT",
                        help=f"a standard dataset instead of the corpus for its task: {', '.join(f'{d} ({t})' for d, t in DATASETS.items())}")  # fmt: skip
    parser.add_argument(
        "--speech-commands-test",
        default="",
        metavar="DIR",
        help="SUPERB's Speech Commands v0.01 test set folder",
    )
    parser.add_argument(
        "--librispeech-subsets",
        default=",".join(LIBRISPEECH_SUBSETS),
        help="train,dev,test subsets for ASR",
    )
    parser.add_argument("--no-fidelity", action="store_true", help="skip fidelity")
    parser.add_argument("--no-probes", action="store_true", help="skip the probes")
    parser.add_argument(
        "--no-efficiency", action="store_true", help="skip the efficiency benchmark"
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip peak-memory measurement (one child process per model)",
    )
    parser.add_argument(
        "--fidelity-utterances",
        type=int,
        default=200,
        help="held-out corpus utterances for fidelity",
    )
    parser.add_argument("--similarity", choices=METRICS, default="cka", help="heatmap similarity")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per model and input length"
    )
    parser.add_argument("--recipe", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe field for every task (e.g. steps=50) for a quick look; scores then do not compare")  # fmt: skip
    parser.add_argument(
        "--cache",
        default="",
        help="feature cache folder (default: OUT/cache); safe to share between runs",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads for feature extraction and timing (0: torch's default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = EvaluateConfig(
        models=parse_models(args.models),
        out=args.out,
        tasks=parse_tasks(args.tasks),
        corpus=args.corpus,
        corpus_size=args.corpus_size,
        data=_pairs(args.data, "--data"),
        speech_commands_test=args.speech_commands_test,
        librispeech_subsets=tuple(s.strip() for s in args.librispeech_subsets.split(",")),
        teacher=args.teacher,
        fidelity=not args.no_fidelity,
        probes=not args.no_probes,
        efficiency=not args.no_efficiency,
        memory=not args.no_memory,
        fidelity_utterances=args.fidelity_utterances,
        similarity=args.similarity,
        repeats=args.repeats,
        recipe={k: _number(k, v) for k, v in _pairs(args.recipe, "--recipe").items()},
        cache=args.cache,
        seed=args.seed,
        progress=not args.quiet,
        command="gendistiller " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:2] == ["evaluate"]
        else "",
    )
    report = evaluate(cfg)
    print(
        f"wrote {Path(cfg.out) / 'report.md'} and report.json ({report['timings_s']['total']:.0f} s)"
    )
    return 0


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{flag}: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _number(key: str, value: str) -> float | int | bool | str:
    if key not in Recipe.__dataclass_fields__:
        raise ConfigError(
            f"--recipe: unknown key {key!r}; known: {', '.join(Recipe.__dataclass_fields__)}"
        )
    kind = Recipe.__dataclass_fields__[key].type
    try:
        if kind in ("int", int):
            return int(value)
        if kind in ("float", float):
            return float(value)
        if kind in ("bool", bool):
            return value.lower() in ("1", "true", "yes")
        return value
    except ValueError:
        raise ConfigError(f"--recipe: {key} needs a {kind}, got {value!r}") from None
