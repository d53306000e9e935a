"""Durable files: the one way this package writes something a user keeps.

Every write goes to a temporary file beside the target, is flushed to disk, and is
renamed over the target only when complete, so a kill or a full disk never leaves a
half-written file under the real name: the previous version stays usable. The final
file gets the permissions an ordinary ``open()`` would give it (``0o666`` less the
umask), so a group sharing a run folder can read what we write; ``mkstemp`` alone would
leave it owner-only. A write that fails is cleaned up and re-raised; a full disk is
re-raised as :class:`DiskFullError`, a one-line error naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gendistiller.errors import GenDistillerError

#: Prefix of the temporary files :func:`atomic_path` creates (and stale-file sweeps match).
TMP_PREFIX = ".tmp-"


class DiskFullError(GenDistillerError, OSError):
    """The disk filled up while writing; the target was left as it was before."""


def current_umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` would create a file with under the current umask."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that takes a file name
    (safetensors, soundfile, onnx, ``torch.save``); on a clean exit it is synced and
    renamed over ``path``, on an error it is removed and ``path`` is left untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=target.parent, prefix=f"{TMP_PREFIX}{target.name}.", suffix=target.suffix
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise DiskFullError(
                errno.ENOSPC,
                f"{target}: the disk is full; nothing was written (the previous file, if any, is intact)",
            ) from None
        raise
    fsync_dir(target.parent)


@contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """``open(path, mode)`` whose content appears under ``path`` only once complete."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON (sorted as given, trailing newline), atomically."""
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
