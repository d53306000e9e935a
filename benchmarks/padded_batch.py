"""What padding-awareness costs: one padded batch through a model with its lengths (the
masked path: statistics over valid samples only) against the same batch without them
(the plain path, as if nothing were padded).

A batch of ``--batch`` utterances from ``--seconds`` down to ``--shortest`` seconds, as the
probes' feature extraction builds them (similar lengths together); each model timed by
the one timer (``measure/timer.py``), the two paths interleaved, so the ratio holds on a
shared machine. A student preset is built with random weights, scaled as the preset is.

    python benchmarks/padded_batch.py gendistiller-base distilhubert-base --threads 1
"""

from __future__ import annotations

import argparse
import json

import torch

from gendistiller.encoders import load_encoder
from gendistiller.measure.timer import forward, ratios, time_calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="encoder specs (a preset, a student folder, ...)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seconds", type=float, default=3.0, help="the longest utterance")
    p.add_argument("--shortest", type=float, default=2.3, help="the shortest utterance")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print the JSON only")
    args = p.parse_args()
    if args.batch < 1 or not 0 < args.shortest <= args.seconds:
        raise SystemExit("padded_batch: need --batch >= 1 and 0 < --shortest <= --seconds")
    step = (args.seconds - args.shortest) / max(args.batch - 1, 1)
    seconds = [args.seconds - i * step for i in range(args.batch)]
    generator = torch.Generator().manual_seed(0)
    waves = [0.1 * torch.randn(int(16000 * s), generator=generator) for s in seconds]
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    rows = {}
    for spec in args.models:
        model = load_encoder(spec).eval()
        found = time_calls({"masked": forward(model, batch, lengths), "plain": forward(model, batch)},
                           repeats=args.repeats, settle=1, threads=args.threads)  # fmt: skip
        rows[spec] = {"masked_ms": found["masked"].median_ms, "plain_ms": found["plain"].median_ms,
                      "ratio": ratios(found, "plain")["masked"]}  # fmt: skip
    print(json.dumps({"batch_seconds": [round(s, 2) for s in seconds], "threads": args.threads,
                      "repeats": args.repeats, "models": rows}, indent=1))  # fmt: skip
    if not args.json:
        print("\n| model | with lengths (ms) | without (ms) | ratio |\n|---|---:|---:|---:|")
        for spec, r in rows.items():
            print(f"| {spec} | {r['masked_ms']:.0f} | {r['plain_ms']:.0f} | {r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
