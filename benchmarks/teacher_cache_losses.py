"""What the teacher cache changes in training: nothing in float32, a little in float16.

Trains the ``demo`` recipe's student (embedded teacher, batch 8, crops of at most 1.5 s)
on the offline corpus three times from the same seed, for ``--steps`` steps: without a
teacher cache, with a float32 one and with a float16 one (each built by
``build_teacher_cache`` for the run), and compares the per-step losses (``loss.jsonl``).
Prints JSON: whether each cached run's losses equal the uncached ones, the largest and
mean relative difference, the final losses, the last fifth's improvement, and the
cache's disk per step. Step times are ``distill_throughput.py --cache``'s job.

    python benchmarks/teacher_cache_losses.py --steps 150
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from gendistiller.corpus import default_corpus
from gendistiller.measure import torch_threads
from gendistiller.training.config import load_config
from gendistiller.training.curves import loss_curve, tail_improvement
from gendistiller.training.run import train
from gendistiller.training.teacher_cache import TeacherCache
from gendistiller.training.teacher_cache_build import build_teacher_cache


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--corpus-size", default="default", help="offline corpus size")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = p.parse_args(argv)
    corpus = default_corpus(size=args.corpus_size, progress=False)
    report: dict = {"steps": args.steps, "threads": args.threads}
    with torch_threads(args.threads), tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        manifest = corpus.write_manifest(out / "train.tsv")

        def cfg(name: str, **teacher):
            return load_config("demo").merged(
                run={"dir": out / name},
                teacher={"spec": "embedded", **teacher},
                data={"manifest": manifest, "root": corpus.root},
                trainer={
                    "progress_bar": False,
                    "max_steps": args.steps,
                    "cpu_threads": args.threads,
                },
            )

        train(cfg("plain"))
        reference = np.array(loss_curve(out / "plain")[1])
        report["plain"] = summary(reference, reference)
        for name, half in (("float32", False), ("float16", True)):
            cache = build_teacher_cache(cfg(name, cache_float16=half), out / f"cache-{name}")
            result = train(cfg(name, cache=str(cache), cache_float16=half))
            losses = np.array(loss_curve(out / name)[1])
            report[name] = {
                **summary(losses, reference),
                "cache_hits": result.cache_hits,
                "cache_misses": result.cache_misses,
                "MB_per_step": TeacherCache.read(cache).index["bytes"] / args.steps / 1e6,
            }
    print(json.dumps(report, indent=2))
    return report


def summary(losses: np.ndarray, reference: np.ndarray) -> dict:
    rel = np.abs(losses - reference) / reference
    return {
        "equal": bool((losses == reference).all()),
        "max_rel_diff": float(rel.max()),
        "mean_rel_diff": float(rel.mean()),
        "final_loss": float(losses[-1]),
        "tail_improvement": tail_improvement(losses),
    }


if __name__ == "__main__":
    main()
