"""Throughput of the real distillation step, as ``gendistiller distill`` runs it.

For each student, a :class:`~gendistiller.training.module.DistillationModule` is built
from a distillation config (a shipped recipe or YAML file plus dotted overrides; the
defaults give a full-size WavLM Base+ shaped teacher with random weights: speed does
not depend on the values) and trained for ``--warmup`` + ``--steps`` steps by the
Trainer of :func:`~gendistiller.training.run.build_trainer` on random batches. Each
step is timed from the start to the end of the training batch: teacher forward,
student forward, loss, backward, clipping and the optimiser update. Reports the
median step with its spread, steps/s, audio seconds/s and the teacher's share, as a
Markdown table and JSON. The students take turns step by step, so that a change in the
machine's load (shared CPUs) hits all of them alike: each Trainer runs its own loop in a
thread, and the threads hand a baton to each other at every batch boundary, so exactly
one step runs at a time.

With ``--cache``, every student is also timed reading the teacher's states from a
teacher cache (:mod:`gendistiller.training.teacher_cache`) built beforehand from the same
batches; the build's time per batch and the cache's size per batch are reported too.

    python benchmarks/distill_throughput.py                       # CPU defaults
    python benchmarks/distill_throughput.py --recipe demo --teacher embedded --batch-size 8 \
        --seconds 1.5 --threads 1 --steps 20 --cache              # the demo's step, cache or not
    python benchmarks/distill_throughput.py --device cuda --batch-size 24 --seconds 15.6 \\
        --precision 16-mixed --json gpu.json                      # the paper's batch on a GPU
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import lightning as L
import torch

from gendistiller.measure import Timing, machine_info, parameter_count, torch_threads
from gendistiller.measure.machine import load_average

SAMPLE_RATE = 16_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", default=None, help="distillation recipe name or YAML path")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. loss.distance=l2 (repeatable)")  # fmt: skip
    p.add_argument("--teacher", default="random:wavlm", help="teacher spec (teacher.spec)")
    p.add_argument("--students", default="gendistiller-base,distilhubert-base",
                   help="comma-separated presets (student.preset)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seconds", type=float, default=4.0, help="crop length of every utterance")
    p.add_argument("--steps", type=int, default=3, help="timed steps per student")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"), default="32")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--cache", action="store_true",
                   help="also time each student with a teacher cache (teacher.cache)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    return p.parse_args(argv)


class Baton:
    """Whose turn it is: the students' Trainers run one step at a time, in turn."""

    def __init__(self, count: int):
        self.count, self.turn, self.done = count, 0, set()
        self.cond = threading.Condition()

    def wait(self, me: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.turn == me)

    def pass_on(self, me: int, finished: bool = False) -> None:
        with self.cond:
            if finished:
                self.done.add(me)
            if len(self.done) < self.count:
                nxt = (me + 1) % self.count
                while nxt in self.done:
                    nxt = (nxt + 1) % self.count
                self.turn = nxt
            self.cond.notify_all()


class StepTimer(L.Callback):
    """Wall time of every training batch and of the teacher's forward pass within it."""

    def __init__(self, device: torch.device, baton: Baton, me: int):
        self.device, self.baton, self.me = device, baton, me
        self.step_ms: list[float] = []
        self.teacher_ms: list[float] = []

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.baton.wait(self.me)
        self.sync()
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.sync()
        self.step_ms.append(1000 * (time.perf_counter() - self._start))
        self.baton.pass_on(self.me)

    def on_train_end(self, trainer, module) -> None:
        self.baton.pass_on(self.me, finished=True)

    def on_exception(self, trainer, module, exception) -> None:
        self.baton.pass_on(self.me, finished=True)

    def wrap_teacher(self, module) -> None:
        original = module._teacher_states

        def timed(waves):
            self.sync()
            start = time.perf_counter()
            states = original(waves)
            self.sync()
            self.teacher_ms.append(1000 * (time.perf_counter() - start))
            return states

        module._teacher_states = timed


def batches(args: argparse.Namespace, count: int) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    n = int(args.seconds * SAMPLE_RATE)
    return [
        {"waveforms": 0.1 * torch.randn(args.batch_size, n, generator=gen), "position": i,
         "epoch": 0, "seconds": args.batch_size * n / SAMPLE_RATE}
        for i in range(count)
    ]  # fmt: skip


def config(preset: str, args: argparse.Namespace, work: Path, cache: str = ""):
    """The recipe's config for ``preset``; the recipe's ``student.overrides`` belong to its
    own preset (the demo's teacher forcing is no DistilHuBERT key), so another preset
    starts from its own defaults, as in ``gendistiller reproduce``."""
    from gendistiller.training.config import StudentSection, load_config, recipe_data

    own = (recipe_data(args.recipe) if args.recipe else {}).get("student", {})
    foreign = preset != own.get("preset", StudentSection().preset)
    total = args.warmup + args.steps
    accelerator = "gpu" if args.device.startswith("cuda") else args.device
    return load_config(args.recipe, [
        f"teacher.spec={args.teacher}", f"student.preset={preset}",
        f"run.dir={work / (preset + ('+cache' if cache else ''))}", f"trainer.max_steps={total}",
        f"trainer.accelerator={accelerator}", "trainer.devices=1",
        f"trainer.precision={args.precision}", "trainer.progress_bar=false",
        f"checkpoint.every_n_steps={total + 1}", f"teacher.cache={cache}",
        *(["student.overrides={}"] if foreign else []), *args.set,
    ])  # fmt: skip


def build(preset: str, args: argparse.Namespace, work: Path, timer: StepTimer, cache: str = ""):
    """The real module and Trainer for ``preset``, as ``gendistiller distill`` builds them."""
    from gendistiller.students import build_student
    from gendistiller.teachers import load_teacher
    from gendistiller.training.module import DistillationModule
    from gendistiller.training.run import build_trainer
    from gendistiller.training.teacher_cache import TeacherCache

    cfg = config(preset, args, work, cache)
    L.seed_everything(cfg.run.seed, verbose=False)
    teacher = load_teacher(cfg.teacher.spec, seed=cfg.teacher.seed, **cfg.teacher.overrides)
    scaled = teacher.config if cfg.student.scale_to_teacher else None
    student = build_student(cfg.student.build_config(teacher_config=scaled))
    module = DistillationModule(student, teacher, cfg, TeacherCache.read(cache) if cache else None)
    timer.wrap_teacher(module)
    trainer = build_trainer(cfg, cfg.run_dir, [timer], progress=False)
    data = torch.utils.data.DataLoader(batches(args, args.warmup + args.steps), batch_size=None)
    return student, teacher, lambda: trainer.fit(module, train_dataloaders=data)


def build_cache(presets: list[str], args: argparse.Namespace, work: Path) -> tuple[Path, dict]:
    """A teacher cache of the benchmark's batches (the layers of every student), built as
    ``build_teacher_cache`` builds one."""
    from gendistiller.encoders import fingerprint
    from gendistiller.teachers import load_teacher
    from gendistiller.training.teacher_cache import cache_settings
    from gendistiller.training.teacher_cache_build import CacheWriter, write_batches

    cfg = config(presets[0], args, work)
    teacher = load_teacher(cfg.teacher.spec, seed=cfg.teacher.seed, **cfg.teacher.overrides)
    scaled = teacher.config if cfg.student.scale_to_teacher else None
    layers = sorted({
        int(x) for p in presets
        for x in config(p, args, work).student.build_config(teacher_config=scaled).target_layers
    })  # fmt: skip
    count = args.warmup + args.steps
    settings = cache_settings(cfg, fingerprint(teacher), "benchmark batches")
    writer = CacheWriter(work / "cache", settings, layers, teacher.num_hidden_states, 1 << 20)
    start = time.perf_counter()
    write_batches(writer, teacher, batches(args, count), cfg, torch.device(args.device))
    seconds = time.perf_counter() - start
    return writer.path, {
        "layers": layers,
        "build_s_per_step": round(seconds / count, 4),
        "MB_per_step": round(writer.index["bytes"] / count / 1e6, 4),
    }


def run_all(presets: list[str], args: argparse.Namespace, work: Path) -> list[dict]:
    """Every student's Trainer in its own thread, taking turns step by step."""
    caches = [""]
    if args.cache:
        path, args.cache_report = build_cache(presets, args, work)
        caches.append(str(path))
    runs = [(p, c) for p in presets for c in caches]
    baton = Baton(len(runs))
    timers = [StepTimer(torch.device(args.device), baton, i) for i in range(len(runs))]
    built = [build(p, args, work, t, c) for (p, c), t in zip(runs, timers, strict=True)]
    errors: list[BaseException] = []

    def fit(run):
        try:
            run()
        except BaseException as err:  # re-raised in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=fit, args=(run,)) for _, _, run in built]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [
        result(p, bool(c), s, te, t, args)
        for (p, c), (s, te, _), t in zip(runs, built, timers, strict=True)
    ]


def result(
    preset: str, cache: bool, student, teacher, timer: StepTimer, args: argparse.Namespace
) -> dict:
    step = Timing(tuple(round(x, 3) for x in timer.step_ms[args.warmup :]))
    teacher_ms = Timing(tuple(timer.teacher_ms[args.warmup :])).median_ms
    seconds = step.median_ms / 1000
    return {
        "student": preset,
        "teacher_cache": cache,
        "student_params_M": round(parameter_count(student) / 1e6, 2),
        "teacher_params_M": round(parameter_count(teacher) / 1e6, 2),
        "step": step.to_dict(),
        "step_s": round(seconds, 4),
        "steps_per_s": round(1 / seconds, 4),
        "audio_s_per_s": round(args.batch_size * args.seconds / seconds, 2),
        "teacher_share": round(teacher_ms / step.median_ms, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    args.cache_report = None
    presets = [s.strip() for s in args.students.split(",") if s.strip()]
    load_before = load_average()
    with torch_threads(args.threads or None) as threads, tempfile.TemporaryDirectory() as tmp:
        results = run_all(presets, args, Path(tmp))
    report = {
        "benchmark": "distill_throughput",
        "teacher": args.teacher,
        "batch_size": args.batch_size,
        "seconds_per_utterance": args.seconds,
        "device": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu",
        "precision": args.precision,
        "timed_steps": args.steps,
        "machine": machine_info(threads),
        "load_average": [load_before, load_average()],
        "results": results,
        "teacher_cache": args.cache_report,
    }  # fmt: skip
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


def table(report: dict) -> str:
    m = report["machine"]
    load = " -> ".join("?" if x is None else f"{x[0]:.1f}" for x in report["load_average"])
    lines = [
        f"teacher {report['teacher']}, batch {report['batch_size']} x {report['seconds_per_utterance']} s,"
        f" {report['device']} ({m['cpu']}, {m['cores']} cores), {m['threads']} threads,"
        f" precision {report['precision']}, median of {report['timed_steps']} steps;"
        f" 1-min load average {load}",
        "",
        "| student | teacher cache | params (M) | step (s) | min-max (s) | steps/s | audio s/s | teacher share |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for r in report["results"]:
        lines.append(
            f"| {r['student']} | {'on' if r['teacher_cache'] else 'off'}"
            f" | {r['student_params_M']} | {r['step_s']:.3f}"
            f" | {r['step']['min_ms'] / 1000:.2f}-{r['step']['max_ms'] / 1000:.2f}"
            f" | {r['steps_per_s']:.3f} | {r['audio_s_per_s']:.1f} | {r['teacher_share']:.0%} |"
        )
    cache = report["teacher_cache"]
    if cache:
        lines += ["", f"teacher cache (layers {cache['layers']}): built in"
                  f" {cache['build_s_per_step']:.3f} s and {cache['MB_per_step']:.2f} MB per step;"
                  " with the cache on, 'teacher share' is the lookup's"]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
