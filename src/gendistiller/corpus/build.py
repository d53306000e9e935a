"""Building a corpus: plan, synthesise in worker processes, write, and cache.

A corpus is built in a hidden temporary folder next to its destination and renamed into
place only when complete, so an interrupted build never leaves a corpus that would be
reused. The folder name of the default cache encodes the settings, and ``corpus.json``
records them, so asking again with the same settings reuses the corpus.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

from tqdm import tqdm

from gendistiller.audio import SAMPLE_RATE
from gendistiller.corpus.commands import INTENTS, KEYWORD_CLASSES, keyword_label
from gendistiller.corpus.dataset import (
    FORMAT_VERSION,
    INFO_NAME,
    Corpus,
    is_corpus,
    load_corpus,
    read_info,
)
from gendistiller.corpus.espeak import engine_started
from gendistiller.corpus.manifest import MANIFEST_NAME, Utterance, write_manifest
from gendistiller.corpus.phones import PHONES
from gendistiller.corpus.plan import CorpusSize, PlannedUtterance, get_size, plan_corpus
from gendistiller.corpus.synth import SynthResult, synthesize_speaker
from gendistiller.errors import ConfigError
from gendistiller.io import atomic_dir, cache_home, remove_stale_temps

# Bump when anything changes what a given size and seed produce (texts, voices, levels...).
GENERATOR_VERSION = 1


def cache_root() -> Path:
    """``$GENDISTILLER_CACHE/corpus``, else ``~/.cache/gendistiller/corpus``."""
    return cache_home("corpus")


def settings_of(size: str | CorpusSize, seed: int) -> dict:
    """Everything that determines a corpus's content (library versions included)."""
    spec = get_size(size)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"corpus seed: must be a non-negative integer, got {seed!r}")
    return {
        "generator_version": GENERATOR_VERSION,
        "size": spec.as_dict(),
        "seed": seed,
        "espeakng_loader": _version("espeakng-loader"),
        "soxr": _version("soxr"),
    }


def settings_key(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def default_corpus_dir(size: str | CorpusSize = "default", seed: int = 0) -> Path:
    settings = settings_of(size, seed)
    return cache_root() / f"{settings['size']['name']}-seed{seed}-{settings_key(settings)}"


def default_corpus(
    size: str | CorpusSize = "default",
    *,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = False,
) -> Corpus:
    """The cached corpus of these settings, built first if needed."""
    return build_corpus(
        default_corpus_dir(size, seed), size=size, seed=seed, workers=workers, progress=progress
    )


def build_corpus(
    out_dir: str | os.PathLike | None = None,
    *,
    size: str | CorpusSize = "default",
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> Corpus:
    """Build the corpus in ``out_dir`` (default: the cache), or reuse it if already there.

    ``workers`` processes synthesise in parallel (default: the CPUs available); the result
    does not depend on it. A folder holding a corpus of other settings, or other files,
    is an error rather than overwritten.
    """
    settings = settings_of(size, seed)
    if workers is not None and workers < 1:
        raise ConfigError(f"corpus workers: must be at least 1, got {workers}")
    key = settings_key(settings)
    out = Path(out_dir) if out_dir is not None else default_corpus_dir(size, seed)
    if is_corpus(out):
        info = read_info(out)
        if info.get("key") != key:
            raise ConfigError(
                f"{out}: holds a corpus of other settings (size {info['settings']['size']['name']}, "
                f"seed {info['settings']['seed']}); choose another folder or delete it"
            )
        return load_corpus(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: exists and is not a corpus folder; choose a new or empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out.parent, out.name)  # builds of ``out`` that were killed
    try:
        with atomic_dir(out, replace=False) as tmp:
            _build_into(tmp, settings, key, workers, progress)
            with contextlib.suppress(OSError):
                out.rmdir()  # an empty folder given as destination
    except OSError:
        if not is_corpus(out):  # another process finished the same corpus first: use it
            raise
    return load_corpus(out)


def _build_into(root: Path, settings: dict, key: str, workers: int | None, progress: bool) -> None:
    start = time.perf_counter()
    spec = CorpusSize(**settings["size"])
    plan = plan_corpus(spec, settings["seed"])
    jobs: dict[str, list[PlannedUtterance]] = {}
    for utt in plan:
        jobs.setdefault(utt.speaker.id, []).append(utt)
    n_workers = max(1, min(workers or _cpu_count(), len(jobs)))
    results: dict[str, SynthResult] = {}
    # One fresh process per speaker (maxtasksperchild=1): eSpeak's state carries over
    # between utterances, so this is what makes the audio independent of scheduling.
    ctx = _worker_context()
    with (
        tqdm(total=len(plan), unit="utt", desc="corpus", disable=not progress) as bar,
        ctx.Pool(n_workers, maxtasksperchild=1) as pool,
    ):
        tasks = [(utts, str(root)) for utts in jobs.values()]
        for batch in pool.imap_unordered(synthesize_speaker, tasks):
            results.update((r.id, r) for r in batch)
            bar.update(len(batch))
    records = [_record(utt, results[utt.id]) for utt in plan]
    write_manifest(root / MANIFEST_NAME, records)
    info = {
        "format": FORMAT_VERSION,
        "key": key,
        "settings": settings,
        "sample_rate": SAMPLE_RATE,
        "phone_set": list(PHONES),
        "keyword_classes": list(KEYWORD_CLASSES),
        "intents": [i.label for i in INTENTS],
        "speakers": [
            dataclasses.asdict(s) for s in {u.speaker.id: u.speaker for u in plan}.values()
        ],
        "utterances": len(records),
        "hours": round(sum(r.num_samples for r in records) / SAMPLE_RATE / 3600, 4),
        "build_seconds": round(time.perf_counter() - start, 2),
        "build_workers": n_workers,
    }
    # Written last: its presence marks a complete corpus.
    (root / INFO_NAME).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def _record(utt: PlannedUtterance, res: SynthResult) -> Utterance:
    sentence = utt.kind == "sentence"
    intent = utt.intent
    return Utterance(
        path=utt.path,
        num_samples=res.num_samples,
        id=utt.id,
        split=utt.split,
        split_sid=utt.split_sid,
        split_pr=utt.split if sentence else "",
        split_asr=utt.split if sentence else "",
        split_ks=utt.split if utt.keyword else "",
        split_ic=utt.split if intent else "",
        speaker=utt.speaker.id,
        kind=utt.kind,
        text=utt.text,
        phonemes=res.phonemes,
        keyword=keyword_label(utt.keyword) if utt.keyword else "",
        intent_action=intent.action if intent else "",
        intent_object=intent.object if intent else "",
        intent_location=intent.location if intent else "",
        gender=utt.speaker.gender,
        accent=utt.speaker.accent_name,
        voice=utt.speaker.voice,
        peak_dbfs=res.peak_dbfs,
        rms_dbfs=res.rms_dbfs,
        sha1=res.sha1,
    )


def _worker_context() -> mp.context.BaseContext:
    """Fork (cheap: no re-imports) unless this process has eSpeak state to pass on; then
    forkserver, whose children fork from a clean server process."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and not engine_started():
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["gendistiller.corpus.synth"])
        return ctx
    return mp.get_context("spawn")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
