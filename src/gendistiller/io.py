"""Durable files: the one way this package writes something a user keeps.

Every write goes to a temporary file beside the target, is flushed to disk, and is
renamed over the target only when complete, so a kill or a full disk never leaves a
half-written file under the real name: the previous version stays usable. The final
file gets the permissions an ordinary ``open()`` would give it (``0o666`` less the
umask), so a group sharing a run folder can read what we write; ``mkstemp`` alone would
leave it owner-only. A write that fails is cleaned up and re-raised; a full disk is
re-raised as :class:`DiskFullError`, a one-line error naming the file. Folders (a saved
model, a corpus) are built the same way by :func:`atomic_dir`. Temporary names carry the
writer's process id, so :func:`remove_stale_temps` can sweep those of killed writers
without touching a live one's.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gendistiller.errors import GenDistillerError

#: Prefix of the temporary files :func:`atomic_path` creates (and stale-file sweeps match).
TMP_PREFIX = ".tmp-"
_PID = re.compile(r"\.pid(\d+)\.")
#: Environment variable naming the cache folder (see :func:`cache_home`).
CACHE_ENV = "GENDISTILLER_CACHE"


class DiskFullError(GenDistillerError, OSError):
    """The disk filled up while writing; the target was left as it was before."""


def cache_home(*parts: str) -> Path:
    """``$GENDISTILLER_CACHE/...``, else ``~/.cache/gendistiller/...``: where caches go."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gendistiller"
    return Path(base).expanduser().joinpath(*parts)


def current_umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` would create a file with under the current umask."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | os.PathLike, *, sync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that takes a file name
    (safetensors, soundfile, onnx, ``torch.save``); on a clean exit it is synced and
    renamed over ``path``, on an error it is removed and ``path`` is left untouched.
    ``sync=False`` skips the fsyncs, for files inside a folder that :func:`atomic_dir`
    commits as a whole (thousands of small files, where each fsync costs more than the write)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=target.parent, prefix=_temp_prefix(target), suffix=target.suffix
    )
    os.close(fd)
    tmp = Path(name)
    with _cleanup_on_error(tmp, target):
        yield tmp
        if sync:
            _fsync_file(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    if sync:
        fsync_dir(target.parent)


@contextmanager
def atomic_dir(
    path: str | os.PathLike, *, replace: bool = True, merge: bool = False
) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; on a clean exit it becomes ``path``.

    With ``replace`` an existing ``path`` is swapped out and deleted only once the new
    folder is in place; without, the rename fails (``OSError``) if ``path`` is a folder
    that is not empty. With ``merge`` the new files are moved into an existing ``path``
    one by one instead (each rename atomic), leaving its other files as they are. On an
    error the temporary folder is removed and ``path`` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{_temp_prefix(target)}{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o777)  # the umask applies, as for any folder
    old = target.parent / f"{_temp_prefix(target)}old-{uuid.uuid4().hex[:8]}"
    with _cleanup_on_error(tmp, target):
        yield tmp
        _honour_umask(tmp)
        fsync_dir(tmp)
        if merge and target.is_dir():
            _move_into(tmp, target)
        else:
            if replace and target.exists():
                os.replace(target, old)
            try:
                os.rename(tmp, target)
            except OSError:
                if old.exists():
                    os.replace(old, target)  # put the previous folder back
                raise
    fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)  # emptied by a merge


def remove_stale_temps(folder: str | os.PathLike, name: str = "") -> list[Path]:
    """Delete the temporaries (files or folders) of writers of ``folder/name*`` that were
    killed before their rename; those of a process still running are kept."""
    removed = []
    pattern = f"{TMP_PREFIX}{glob.escape(name)}*"
    for tmp in sorted(Path(folder).glob(pattern)) if Path(folder).is_dir() else []:
        pid = _writer_pid(tmp.name)
        if pid is not None and _alive(pid):
            continue
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


@contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "w",
    encoding: str | None = "utf-8",
    *,
    sync: bool = True,
) -> Iterator[IO[Any]]:
    """``open(path, mode)`` whose content appears under ``path`` only once complete."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path, sync=sync) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike, data: bytes, *, sync: bool = True) -> None:
    with atomic_open(path, "wb", sync=sync) as fh:
        fh.write(data)


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` where there is no such file (a unit not run yet)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else default


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


@contextmanager
def _cleanup_on_error(tmp: Path, target: Path) -> Iterator[None]:
    try:
        yield
    except BaseException as err:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise DiskFullError(
                errno.ENOSPC,
                f"{target}: the disk is full; nothing was written (the previous version, if any, is intact)",
            ) from None
        raise


def _honour_umask(folder: Path) -> None:
    # Writers that save through their own temp file (safetensors, hence save_pretrained)
    # leave it owner-only, as mkstemp does.
    mode = file_mode()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, mode)


def _move_into(src: Path, dest: Path) -> None:
    for item in sorted(src.iterdir()):
        if item.is_dir() and (dest / item.name).is_dir():
            _move_into(item, dest / item.name)
        else:
            os.replace(item, dest / item.name)
    fsync_dir(dest)


def _temp_prefix(target: Path) -> str:
    return f"{TMP_PREFIX}{target.name}.pid{os.getpid()}."


def _writer_pid(name: str) -> int | None:
    # ".tmp-<target name>.pid<pid>.<random>": the target name may hold dots itself.
    found = _PID.findall(name)
    return int(found[-1]) if found else None


def _alive(pid: int) -> bool:
    # Our own pid counts as alive: another thread of this process may be writing, and a
    # write of ours that failed has removed its temporary already.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process
    return True


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
