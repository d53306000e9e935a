"""Find the training audio: LibriSpeech subsets, any folder of audio files, or a manifest.

Every source ends in the same :class:`ScanReport`: the usable files (sorted by path, so
that every run and every rank indexes them the same way) with their length at 16 kHz,
and the skipped ones with the reason. A bad file is skipped with one warning naming
the file and the problem; only a source with no usable audio at all is an error.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from gendistiller.audio import AUDIO_SUFFIXES, SAMPLE_RATE, AudioError, audio_info, load_audio
from gendistiller.data.cache import ScanCache
from gendistiller.data.config import DataConfig
from gendistiller.errors import DataError

log = logging.getLogger(__name__)

# Below this many files to inspect, a process pool costs more than it saves.
_POOL_THRESHOLD = 256
_HEADER_NAMES = {"path", "file", "filename", "audio", "audio_path", "wav", "filepath"}


@dataclass(frozen=True)
class AudioEntry:
    path: str
    num_samples: int  # at SAMPLE_RATE


@dataclass
class ScanReport:
    entries: list[AudioEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)

    @property
    def hours(self) -> float:
        return sum(e.num_samples for e in self.entries) / SAMPLE_RATE / 3600

    def summary(self) -> str:
        text = (
            f"{len(self.entries) + len(self.skipped)} files: {len(self.entries)} usable"
            f" ({self.hours:.2f} h), {len(self.skipped)} skipped"
        )
        if self.skipped:
            kinds = collections.Counter(problem_kind(p) for _, p in self.skipped)
            text += " (" + ", ".join(f"{n} {k}" for k, n in kinds.most_common()) + ")"
        return text


def problem_kind(problem: str) -> str:
    """``"too short: 300 samples ..."`` -> ``"too short"``: the summary's categories."""
    return problem.split(" (")[0].split(":")[0].strip()


def scan_source(cfg: DataConfig, *, progress: bool = True) -> ScanReport:
    """Resolve ``cfg`` to usable files; raises :class:`DataError` when none is left."""
    cfg.check_paths()
    if cfg.source == "manifest":
        base, listed = read_audio_list(cfg.manifest, cfg.root or None)
        where = cfg.manifest
    else:
        base = Path(cfg.root)
        if cfg.source == "librispeech":
            paths = list_librispeech(base, cfg.subsets, progress=progress)
        else:
            paths = list_folder(base, cfg.extensions, progress=progress)
        listed = [(p, None) for p in paths]
        where = cfg.root
    if not listed:
        raise DataError(f"{where}: no audio files found")
    cache = ScanCache.for_root(base, cfg.cache_dir)
    report = scan_files(
        listed,
        cache=cache,
        min_samples=cfg.min_samples,
        verify=cfg.verify,
        workers=cfg.scan_workers or min(8, os.cpu_count() or 1),
        progress=progress,
    )
    cache.save()
    log.info("data: %s", report.summary())
    if not report.entries:
        raise DataError(f"{where}: no usable audio ({report.summary()})")
    return report


def list_folder(root: Path, extensions: Iterable[str] = (), *, progress: bool = False) -> list[str]:
    """Audio files under ``root``, recursively, sorted; hidden files and folders are ignored."""
    suffixes = {("." + e.lower().lstrip(".")) for e in extensions} or AUDIO_SUFFIXES
    found: list[str] = []
    with tqdm(desc="listing audio", unit=" files", disable=not progress, leave=False) as bar:
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes:
                    found.append(os.path.join(folder, name))
            bar.update(len(files))
    return sorted(found)


def list_librispeech(root: Path, subsets: Iterable[str], *, progress: bool = False) -> list[str]:
    """The ``.flac`` files of the chosen subsets (``root/<subset>/<speaker>/<chapter>/``)."""
    files: list[str] = []
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            raise DataError(f"{folder}: LibriSpeech subset not found")
        files += list_folder(folder, [".flac"], progress=progress)
    return sorted(files)


def read_audio_list(
    path: str, root: str | None = None
) -> tuple[Path, list[tuple[str, int | None]]]:
    """Parse a TSV/CSV manifest: ``path[<tab or comma>num_samples]`` per line.

    Relative paths resolve against ``root``, else a fairseq-style first line naming a
    folder, else the manifest's own folder. A first line starting with a column name
    such as ``path`` is a header. ``#`` starts a comment line. Sample counts (at 16 kHz)
    are trusted, so listed lengths need no file to be opened at start-up.
    """
    manifest = Path(path)
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{manifest}: cannot read manifest ({err})") from None
    base = Path(root) if root else manifest.parent
    rows: list[tuple[str, int | None]] = []
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else next(csv.reader([line]))
        fields = [f.strip() for f in fields]
        if first:
            first = False
            if fields[0].lower() in _HEADER_NAMES:
                continue
            if len(fields) == 1 and (manifest.parent / fields[0]).is_dir():
                if not root:
                    base = manifest.parent / fields[0]
                continue
        samples: int | None = None
        if len(fields) > 1 and fields[1]:
            try:
                samples = int(float(fields[1]))
            except ValueError:
                raise DataError(
                    f"{manifest}:{number}: number of samples {fields[1]!r} is not a number"
                ) from None
        rows.append((str(base / fields[0]), samples))
    return base, rows


def scan_files(
    listed: list[tuple[str, int | None]],
    *,
    cache: ScanCache,
    min_samples: int,
    verify: str = "full",
    workers: int = 1,
    progress: bool = True,
) -> ScanReport:
    """Check each file (cached by size and mtime), apply the length filter, warn per skip."""
    results: dict[str, tuple[int, str]] = {}
    todo: list[str] = []
    for path, known in listed:
        if known is not None:
            results[path] = (known, "" if known > 0 else "empty audio (0 samples)")
        elif (hit := cache.lookup(path, verify)) is not None:
            results[path] = (hit.num_samples, hit.problem)
        else:
            todo.append(path)
    with tqdm(
        total=len(todo), desc="scanning audio", unit=" files", disable=not progress or not todo
    ) as bar:
        for path, (samples, rate, problem) in zip(
            todo, _inspect_all(todo, verify, workers), strict=True
        ):
            cache.store(path, verify, samples, rate, problem)
            results[path] = (samples, problem)
            bar.update()
    report = ScanReport()
    for path in sorted(results):
        samples, problem = results[path]
        if not problem and samples < min_samples:
            problem = (
                f"too short: {samples} samples at {SAMPLE_RATE} Hz, need at least {min_samples}"
            )
        if problem:
            log.warning("skipping %s: %s", path, problem)
            report.skipped.append((path, problem))
        else:
            report.entries.append(AudioEntry(path, samples))
    return report


def inspect_file(path: str, verify: str = "full") -> tuple[int, int, str]:
    """``(num_samples at 16 kHz, file sample rate, problem or "")`` for one file."""
    try:
        info = audio_info(path)
        if verify == "full":
            wave = load_audio(path, check=True)
            return int(wave.shape[0]), info.sample_rate, ""
        return info.num_samples, info.sample_rate, ""
    except AudioError as err:
        return 0, 0, err.problem
    except Exception as err:  # noqa: BLE001 - one bad file must never stop a scan
        return 0, 0, f"not readable as audio ({type(err).__name__}: {err})"


def _inspect_all(paths: list[str], verify: str, workers: int) -> Iterable[tuple[int, int, str]]:
    if workers <= 1 or len(paths) < _POOL_THRESHOLD:
        return (inspect_file(p, verify) for p in paths)
    # fork on Linux: a spawned worker would re-import the package, torch included (seconds
    # each). The workers only call soundfile and numpy, never torch, so torch's thread
    # pools (which do not survive a fork) are never touched in them.
    method = "fork" if sys.platform == "linux" else "spawn"
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context(method)
    )
    return _drain(pool, pool.map(inspect_file, paths, [verify] * len(paths), chunksize=16))


def _drain(pool: concurrent.futures.ProcessPoolExecutor, results: Iterable) -> Iterable:
    with pool:
        yield from results
