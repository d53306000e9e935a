"""Throughput of one distillation step: teacher forward + student forward/backward + update.

For each student, with a full-size WavLM Base+ shaped teacher (random weights: speed does
not depend on the values), report steps/s, audio seconds/s and the share of the step
spent in the teacher. Prints a Markdown table and writes JSON.

    python benchmarks/distill_throughput.py                       # CPU defaults
    python benchmarks/distill_throughput.py --device cuda --batch-size 24 --seconds 15.6 \\
        --precision bf16 --json gpu.json                          # the paper's batch on a GPU
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from gendistiller import DistillationLoss, build_student, load_teacher

SAMPLE_RATE = 16_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--teacher", default="random:wavlm", help="teacher spec (default: WavLM Base+ shape)"
    )
    p.add_argument(
        "--students", default="gendistiller-base,distilhubert-base", help="comma-separated presets"
    )
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seconds", type=float, default=4.0, help="crop length of every utterance")
    p.add_argument("--steps", type=int, default=3, help="timed steps per student")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--precision", choices=("fp32", "bf16", "fp16"), default="fp32", help="autocast dtype"
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    return p.parse_args(argv)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StudentStep:
    """One student with its optimiser; ``__call__`` times one full distillation step."""

    def __init__(self, preset: str, teacher, args: argparse.Namespace, device: torch.device):
        torch.manual_seed(0)
        self.preset = preset
        self.teacher = teacher
        self.device = device
        self.student = build_student(preset).to(device).train()
        self.loss_fn = DistillationLoss()
        self.optimizer = torch.optim.AdamW(
            self.student.parameters(), lr=2e-4, betas=(0.9, 0.98), eps=1e-6
        )
        self.layers = list(self.student.config.target_layers)
        self.waves = 0.1 * torch.randn(
            args.batch_size, int(args.seconds * SAMPLE_RATE), device=device
        )
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
        self.autocast = (
            (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=args.precision == "fp16")
        self.step_times: list[float] = []
        self.teacher_times: list[float] = []

    def __call__(self, record: bool) -> None:
        sync(self.device)
        t0 = time.perf_counter()
        with self.autocast():
            states = self.teacher(self.waves).hidden_states
        sync(self.device)
        t1 = time.perf_counter()
        with self.autocast():
            out = self.student(self.waves, teacher_states=states)
            n = min(out.predictions[0].shape[1], states[0].shape[1])
            targets = [states[k][:, :n] for k in self.layers]
            loss = self.loss_fn([p[:, :n] for p in out.predictions], targets).total
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_norm_(self.student.parameters(), 5.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        sync(self.device)
        if record:
            self.step_times.append(time.perf_counter() - t0)
            self.teacher_times.append(t1 - t0)

    def result(self, args: argparse.Namespace) -> dict:
        step = statistics.median(self.step_times)
        return {
            "student": self.preset,
            "student_params_M": round(self.student.parameter_count() / 1e6, 2),
            "step_s": round(step, 4),
            "steps_per_s": round(1 / step, 4),
            "audio_s_per_s": round(args.batch_size * args.seconds / step, 2),
            "teacher_share": round(statistics.median(self.teacher_times) / step, 3),
        }


def run_all(presets: list[str], teacher, args: argparse.Namespace, device: torch.device) -> list:
    """Students take turns step by step, so that a change in the machine's load (shared
    CPUs) affects all of them alike instead of whichever ran last."""
    students = [StudentStep(p, teacher, args, device) for p in presets]
    for i in range(args.warmup + args.steps):
        for student in students:
            student(record=i >= args.warmup)
    return [s.result(args) for s in students]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = _load_average()
    teacher = load_teacher(args.teacher).to(device).eval()
    presets = [s.strip() for s in args.students.split(",") if s.strip()]
    results = run_all(presets, teacher, args, device)
    report = {
        "benchmark": "distill_throughput",
        "teacher": args.teacher,
        "teacher_params_M": round(sum(p.numel() for p in teacher.parameters()) / 1e6, 2),
        "batch_size": args.batch_size,
        "seconds_per_utterance": args.seconds,
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "precision": args.precision,
        "timed_steps": args.steps,
        "torch": torch.__version__,
        # other processes on the machine skew CPU figures: the 1-minute load, before/after
        "load_average": [load_before, _load_average()],
        "cpu_count": os.cpu_count(),
        "results": results,
    }
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on Windows
        return None


def table(report: dict) -> str:
    lines = [
        f"teacher {report['teacher']} ({report['teacher_params_M']}M), batch {report['batch_size']} x"
        f" {report['seconds_per_utterance']} s, {report['device']}, {report['torch_threads']} threads,"
        f" {report['precision']}; 1-min load average {report['load_average'][0]} -> "
        f"{report['load_average'][1]} on {report['cpu_count']} CPUs",
        "",
        "| student | params (M) | step (s) | steps/s | audio s/s | teacher share |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['student']} | {r['student_params_M']} | {r['step_s']:.3f} | {r['steps_per_s']:.3f}"
            f" | {r['audio_s_per_s']:.1f} | {r['teacher_share']:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
