"""The throughput benchmark runs and reports what it promises (on tiny models here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "distill_throughput.py"


def test_benchmark_reports_steps_audio_rate_and_teacher_share(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("distill_throughput", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    report = bench.main(
        [
            "--teacher",
            "random:wavlm-tiny",
            "--students",
            "gendistiller-tiny,distilhubert-tiny",
            "--batch-size",
            "2",
            "--seconds",
            "0.5",
            "--steps",
            "2",
            "--warmup",
            "0",
            "--json",
            str(out),
        ]
    )
    assert json.loads(out.read_text()) == report
    assert [r["student"] for r in report["results"]] == ["gendistiller-tiny", "distilhubert-tiny"]
    for r in report["results"]:
        assert r["steps_per_s"] > 0 and 0 < r["teacher_share"] < 1
        assert (
            abs(r["audio_s_per_s"] - 2 * 0.5 * r["steps_per_s"]) < 0.02 * r["audio_s_per_s"] + 0.01
        )
    table = capsys.readouterr().out
    assert "| gendistiller-tiny |" in table and "teacher share" in table


def test_students_take_turns_step_by_step():
    import threading

    spec = importlib.util.spec_from_file_location("distill_throughput", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    baton, order = bench.Baton(2), []

    def student(me: int, steps: int):
        for _ in range(steps):
            baton.wait(me)
            order.append(me)
            baton.pass_on(me)
        baton.pass_on(me, finished=True)

    threads = [threading.Thread(target=student, args=(i, n)) for i, n in ((0, 3), (1, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert order == [0, 1, 0, 1, 0]  # alternating, and the longer one finishes alone


def test_benchmark_times_each_student_with_and_without_the_teacher_cache(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("distill_throughput", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(
        ["--teacher", "random:wavlm-tiny", "--students", "gendistiller-tiny,distilhubert-tiny",
         "--batch-size", "2", "--seconds", "0.5", "--steps", "2", "--warmup", "0", "--cache"]
    )  # fmt: skip
    runs = [(r["student"], r["teacher_cache"]) for r in report["results"]]
    assert runs == [
        ("gendistiller-tiny", False),
        ("gendistiller-tiny", True),
        ("distilhubert-tiny", False),
        ("distilhubert-tiny", True),
    ]
    cache = report["teacher_cache"]
    # 2 layers x 2 utterances x 24 frames x 32 floats x 4 bytes, plus the safetensors header
    assert cache["layers"] == [1, 2] and 0.0122 < cache["MB_per_step"] < 0.02
    assert cache["build_s_per_step"] > 0
    assert "teacher cache (layers [1, 2]): built in" in capsys.readouterr().out
