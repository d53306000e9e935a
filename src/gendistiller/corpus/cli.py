"""``gendistiller corpus``: build (or find in the cache) the synthetic speech corpus."""

from __future__ import annotations

import argparse
from collections import Counter

from gendistiller.corpus.build import build_corpus, default_corpus_dir
from gendistiller.corpus.dataset import is_corpus
from gendistiller.corpus.plan import SIZES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default=None,
        help="corpus folder (default: the cache, ~/.cache/gendistiller/corpus or $GENDISTILLER_CACHE/corpus)",
    )
    parser.add_argument("--size", default="default", choices=list(SIZES), help="corpus size")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument(
        "--workers", type=int, default=None, help="synthesis processes (default: all CPUs)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--stats", action="store_true", help="also print durations, levels and phone counts"
    )


def run(args: argparse.Namespace) -> int:
    reused = is_corpus(args.out or default_corpus_dir(args.size, args.seed))
    corpus = build_corpus(
        args.out, size=args.size, seed=args.seed, workers=args.workers, progress=not args.quiet
    )
    info = corpus.info
    kinds = Counter(
        "sentence" if r.kind == "sentence" else ("keyword" if r.keyword else "intent")
        for r in corpus.records
    )
    splits = Counter(r.split for r in corpus.records)
    print(f"corpus: {corpus.root}")
    print(f"manifest: {corpus.manifest_path}")
    print(
        f"{len(corpus)} utterances ({kinds['sentence']} sentences, {kinds['keyword']} keywords, "
        f"{kinds['intent']} intents), {len(corpus.speakers)} speakers, {corpus.seconds / 3600:.2f} hours"
    )
    print(
        f"held-out-speaker split: train {splits['train']}, dev {splits['dev']}, test {splits['test']}"
    )
    how = "reused from the cache; " if reused else ""
    print(
        f"{how}built in {info['build_seconds']:.1f} s with {info['build_workers']} workers "
        f"(size {args.size}, seed {args.seed})"
    )
    if args.stats:
        _print_stats(corpus)
    return 0


def _print_stats(corpus) -> None:
    from gendistiller.corpus.inventory import corpus_summary

    summary = corpus_summary(corpus)
    print(f"speakers: {summary['genders']}; accents: {summary['accents']}")
    for kind, spread in summary["seconds"].items():
        print(f"seconds ({kind}): {_spread(spread)}")
    print(f"peak dBFS: {_spread(summary['peak_dbfs'])}")
    print(f"speech RMS dBFS: {_spread(summary['speech_rms_dbfs'])}")
    print(f"phones per second (sentences): {_spread(summary['phones_per_second'])}")
    print("phones: " + " ".join(f"{p}:{n}" for p, n in summary["phone_counts"].items()))
    print("keywords: " + " ".join(f"{k}:{n}" for k, n in summary["keyword_counts"].items()))
    print(f"intents: {summary['intent_counts']} distinct")


def _spread(s: dict[str, float]) -> str:
    return ", ".join(f"{k} {v}" for k, v in s.items())
