"""The probes' own noise: one model's features, re-probed with different probe seeds.

For every task and recipe variant, the same cached features of one upstream (default:
the shipped ``embedded`` teacher) are probed with ``--repeats`` probe seeds; the spread
of the test score over those seeds is the noise a comparison of two models inherits from
the probe heads alone (their initialisation, batch order and dev-selected step). A
variant is ``NAME`` or ``NAME:KEY=VALUE,...``: probe recipe fields for every task
(``TASK.KEY`` for one), ``base=previous`` to start from the recipes before the noise-floor
change, ``lr_scale`` / ``steps_scale`` to scale LR and steps; a variant a task's head
cannot take is skipped for it. A variant training
``seeds=k`` heads per result is probed with disjoint seed groups (``k * i ... k * i + k
- 1`` for repeat ``i``), so its repeats are independent. Prints a table and, with
``--json``, writes every score.

    python benchmarks/probe_noise.py              # previous and current recipes (docs' table)
    python benchmarks/probe_noise.py --tasks ks --repeats 3 --variant standard \\
        --variant avg3:base=previous,seeds=3 --variant full:base=previous,full_batch=true
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from gendistiller.errors import ConfigError
from gendistiller.evaluation.probes import TASKS, task_store, train_probe
from gendistiller.io import cache_home, write_json
from gendistiller.measure import machine_info

# The recipes before the noise-floor measurement (docs/evaluation.md, "Noise floor"), as
# overrides of today's: the variant key ``base=previous`` starts from them.
PREVIOUS = {
    "pr": {"batch_size": 8},
    "ks": {"full_batch": False},
    "sid": {"lr": 2e-3, "steps": 1500, "eval_every": 100},
    "ic": {"full_batch": False},
    "asr": {},
}
DEFAULT_VARIANTS = ("previous:base=previous", "standard")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", default="embedded", help="model spec (default: embedded)")
    p.add_argument("--tasks", default="pr,ks,sid,ic")
    p.add_argument(
        "--corpus", default="", help="corpus folder (default: the cached default corpus)"
    )
    p.add_argument(
        "--subset", default="1000,300,0", help="train,dev,test examples at most (0: all)"
    )
    p.add_argument("--repeats", type=int, default=5, help="probe seeds per variant")
    p.add_argument(
        "--variant", action="append", default=[], help="NAME[:KEY=VALUE,...] (repeatable)"
    )
    p.add_argument(
        "--cache", default="", help="feature cache (default: $GENDISTILLER_CACHE/probe-noise)"
    )
    p.add_argument("--json", default="", help="write every score here")
    return p.parse_args(argv)


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    values: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, raw = item.partition("=")
        values[key] = raw if key == "base" else json.loads(raw)
    return name, values


def recipe_for(task: str, values: dict):
    """The task's recipe with ``values``: ``base=previous`` starts from :data:`PREVIOUS`;
    ``lr_scale`` and ``steps_scale`` multiply the LR and the steps (and eval interval);
    ``TASK.KEY`` applies to that task only."""
    values = {k: v for k, v in values.items() if "." not in k or k.startswith(f"{task}.")}
    values = {k.split(".", 1)[-1]: v for k, v in values.items()}
    base = TASKS[task].recipe
    if values.pop("base", "") == "previous":
        base = base.with_overrides(**PREVIOUS[task])
    if "lr_scale" in values:
        values["lr"] = base.lr * values.pop("lr_scale")
    if "steps_scale" in values:
        scale = values.pop("steps_scale")
        values["steps"] = round(base.steps * scale)
        values["eval_every"] = round(base.eval_every * scale)
    return base.with_overrides(**values)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    from gendistiller.corpus import default_corpus, load_corpus
    from gendistiller.evaluation.superb import load_upstream

    corpus = load_corpus(args.corpus) if args.corpus else default_corpus()
    sizes = [int(n) or 10**9 for n in args.subset.split(",")]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    data = {t: TASKS[t].from_corpus(corpus).subset(*sizes).check() for t in tasks}
    upstream = load_upstream(args.upstream, name=args.upstream)
    cache = Path(args.cache) if args.cache else cache_home("probe-noise")
    t0 = time.perf_counter()
    store = task_store(upstream, data, cache, progress=False)
    extract_s = time.perf_counter() - t0
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    rows = []
    for task in tasks:
        for name, values in variants:
            try:
                recipe = recipe_for(task, values)
            except ConfigError as err:
                print(f"{task} {name}: skipped ({err})", flush=True)
                continue
            scores, seconds = [], []
            for i in range(args.repeats):
                r = train_probe(
                    TASKS[task], data[task], store, recipe=recipe, seed=i * recipe.seeds
                )
                scores.append(r.test)
                seconds.append(r.seconds)
            row = {
                "task": task, "variant": name, "recipe": values, "metric": TASKS[task].metric,
                "mean": statistics.mean(scores), "sd": statistics.stdev(scores),
                "min": min(scores), "max": max(scores), "scores": scores,
                "seconds_per_result": statistics.median(seconds),
            }  # fmt: skip
            rows.append(row)
            print(_line(row), flush=True)
    result = {
        "upstream": args.upstream,
        "corpus": str(corpus.root),
        "sizes": {t: d.summary() for t, d in data.items()},
        "repeats": args.repeats,
        "extract_seconds": round(extract_s, 1),
        "machine": machine_info(threads=1),
        "rows": rows,
    }
    print()
    print(_table(rows))
    print(json.dumps(result))
    if args.json:
        write_json(args.json, result, indent=1)
    return 0


def _line(row: dict) -> str:
    return (
        f"{row['task']:4s} {row['variant']:14s} {row['metric']:8s} mean {row['mean']:6.2f} "
        f"sd {row['sd']:5.2f} [{row['min']:.2f}, {row['max']:.2f}] {row['seconds_per_result']:.1f} s"
    )


def _table(rows: list[dict]) -> str:
    lines = [
        "| task | variant | metric | mean | sd over probe seeds | min | max | s per result |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task'].upper()} | {r['variant']} | {r['metric']} | {r['mean']:.2f} | "
            f"{r['sd']:.2f} | {r['min']:.2f} | {r['max']:.2f} | {r['seconds_per_result']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
