"""Scan results cached on disk, so a large corpus is decoded once, not at every start.

One TSV per data folder (paths are stored relative to it): ``relative path, size,
mtime_ns, level, num_samples, sample_rate, problem``. An entry is reused while the file's
size and mtime are unchanged and it was checked at least as thoroughly as asked (``full``
covers ``header``). The cache never goes into the data folder, which is often shared or
read-only: it lives in the cache folder (``$GENDISTILLER_CACHE/scans``, else
``~/.cache/gendistiller/scans``; ``data.cache_dir`` overrides), one file per data
folder, named by a fingerprint of the folder's resolved path. A cache that cannot be
read or written only costs a rescan, never the run.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gendistiller.io import cache_home, write_text

log = logging.getLogger(__name__)

_HEADER = "# gendistiller scan cache v1"
LEVELS = {"header": 1, "full": 2}


@dataclass(frozen=True)
class CachedScan:
    size: int
    mtime_ns: int
    level: str
    num_samples: int
    sample_rate: int
    problem: str  # empty when the file is usable


class ScanCache:
    """Read once, look up per file, write back atomically if anything changed."""

    def __init__(self, path: Path | None, base: Path):
        self.path = path
        self.base = base
        self.entries: dict[str, CachedScan] = {}
        self.dirty = False
        if path is not None and path.is_file():
            self._read(path)

    @classmethod
    def for_root(cls, base: Path, cache_dir: str = "") -> ScanCache:
        return cls(cache_path(base, cache_dir), base)

    def lookup(self, path: str, level: str) -> CachedScan | None:
        hit = self.entries.get(self._key(path))
        if hit is None or LEVELS[hit.level] < LEVELS[level]:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if st.st_size != hit.size or st.st_mtime_ns != hit.mtime_ns:
            return None
        return hit

    def store(
        self, path: str, level: str, num_samples: int, sample_rate: int, problem: str
    ) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return  # vanished or unreadable: nothing stable to cache
        self.entries[self._key(path)] = CachedScan(
            st.st_size, st.st_mtime_ns, level, num_samples, sample_rate, _clean(problem)
        )
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        lines = [_HEADER]
        for key in sorted(self.entries):
            e = self.entries[key]
            lines.append(
                "\t".join(
                    [
                        key,
                        str(e.size),
                        str(e.mtime_ns),
                        e.level,
                        str(e.num_samples),
                        str(e.sample_rate),
                        e.problem,
                    ]
                )
            )
        try:
            write_text(self.path, "\n".join(lines) + "\n")
            self.dirty = False
        except OSError as err:  # a cache that cannot be written only costs time
            log.warning("could not write scan cache %s (%s)", self.path, err.strerror)

    def _key(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.base)
        except ValueError:  # another drive on Windows
            return os.path.abspath(path)

    def _read(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            log.warning("ignoring unreadable scan cache %s (%s)", path, err)
            return
        lines = text.splitlines()
        if not lines or lines[0] != _HEADER:
            log.warning("ignoring scan cache %s (unknown format)", path)
            return
        for line in lines[1:]:
            parts = line.split("\t")
            if len(parts) != 7 or parts[3] not in LEVELS:
                continue  # a damaged line only costs a rescan of that file
            try:
                self.entries[parts[0]] = CachedScan(
                    int(parts[1]), int(parts[2]), parts[3], int(parts[4]), int(parts[5]), parts[6]
                )
            except ValueError:
                continue


def cache_path(base: Path, cache_dir: str = "") -> Path:
    """Where the scan cache of data folder ``base`` goes (see the module docstring)."""
    digest = hashlib.sha1(str(base.resolve()).encode()).hexdigest()[:16]
    folder = Path(cache_dir).expanduser() if cache_dir else cache_home("scans")
    return folder / f"scan-{digest}.tsv"


def _clean(text: str) -> str:
    return " ".join(text.split())  # no tabs or newlines inside a TSV field
