"""The MDE of the teacher against itself re-probed, per probe recipe variant.

The controls' noise floor (docs/evaluation.md, "Controls"): the same features probed with
probe seed 0 and with seed 100 must tie, and 2.80 x the standard error of their paired
difference is the smallest difference a one-run comparison resolves. This measures it for
recipe variants (``KEY=VALUE,...``, e.g. ``seeds=3`` to average three heads per result) on
the teacher features a reproduction has cached, so nothing is extracted again:

    python benchmarks/reprobe_mde.py --run runs/reproduce-cpu --tasks sid base seeds=3
    python benchmarks/reprobe_mde.py --run runs/reproduce-cpu --tasks pr seeds=2

Run it from the checkout the reproduction ran from: the cache is keyed by the teacher's
fingerprint. Prints a table and, with ``--json``, writes every result.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gendistiller.corpus import default_corpus
from gendistiller.evaluation.controls import REPROBE_OFFSET
from gendistiller.evaluation.probes import run_probes, task_store
from gendistiller.evaluation.statistics import compare
from gendistiller.io import write_json
from gendistiller.reproduce.context import Context, teacher_upstream
from gendistiller.reproduce.plan import get_scale
from gendistiller.reproduce.probing import task_data


def _overrides(spec: str) -> dict:
    """``base`` (the scale's recipes) or ``KEY=VALUE,...``; a value is JSON or else a string."""
    if spec == "base":
        return {}
    found = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"variant {spec!r}: expected 'base' or KEY=VALUE,..., got {item!r}")
        try:
            found[key] = json.loads(value)
        except json.JSONDecodeError:
            found[key] = value
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("variants", nargs="+", help="'base' or KEY=VALUE,... recipe overrides")
    p.add_argument("--run", required=True, help="a reproduction's folder (its teacher-features/)")
    p.add_argument("--scale", default="cpu")
    p.add_argument("--teacher", default="embedded")
    p.add_argument("--tasks", default="pr,sid,ks,ic")
    p.add_argument("--json", default="", help="write every result here")
    args = p.parse_args()
    variants = {spec: _overrides(spec) for spec in args.variants}  # bad ones before any work
    torch.set_num_threads(1)
    scale, out = get_scale(args.scale), Path(args.run)
    corpus = default_corpus(size=scale.corpus_size, progress=False)
    ctx = Context(out=out, scale=scale, teacher=args.teacher, corpus_root=corpus.root,
                  manifest=out / "train_manifest.tsv", threads=1)  # fmt: skip
    data, recipes = task_data(ctx, tuple(args.tasks.split(",")))
    teacher = teacher_upstream(args.teacher)
    store = task_store(teacher, data, out / "teacher-features", progress=False)
    rows = []
    print("| task | variant | seed 0 | re-probed | difference [95% CI] | MDE | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for spec, overrides in variants.items():
        chosen = {t: r.with_overrides(**overrides) for t, r in recipes.items()}
        started = time.perf_counter()
        seeds = [scale.probe_seed, scale.probe_seed + REPROBE_OFFSET]
        a, b = (run_probes(teacher, data, recipes=chosen, seed=s, store=store, progress=False)
                for s in seeds)  # fmt: skip
        seconds = time.perf_counter() - started
        for t in data:
            d = compare([a[t].as_dict()], [b[t].as_dict()], lower_is_better=a[t].lower_is_better)
            rows.append({"task": t, "variant": spec, "scores": [a[t].test, b[t].test],
                         "difference": d.to_dict(), "seconds": round(seconds, 1)})  # fmt: skip
            print(f"| {t} | {spec} | {a[t].test:.2f} | {b[t].test:.2f} | {d} | {d.mde():.2f} |"
                  f" {seconds:.0f} |")  # fmt: skip
    if args.json:
        write_json(Path(args.json), {"run": str(out), "scale": scale.name, "results": rows})


if __name__ == "__main__":
    main()
