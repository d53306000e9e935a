"""The words of the spec grammar (docs/encoders.md), shared by the resolver and the loaders."""

from __future__ import annotations

from pathlib import Path

#: The small teacher pretrained by this project and shipped inside the package.
EMBEDDED = "embedded"
RANDOM_PREFIX = "random:"
ONNX_SUFFIX = ".onnx"
#: A run folder (``gendistiller distill --out``) keeps its student here.
RUN_STUDENT_DIR = "student"


def looks_like_path(spec: str) -> bool:
    """True when ``spec`` can only be meant as a local path, never as a hub id.

    Hub ids are ``name`` or ``owner/name``. A spec starting with ``.``, ``/`` or ``~``,
    with a backslash, a trailing slash or two slashes or more is a path; so is
    ``owner/name`` whose ``owner`` is a folder here (``runs/nothere`` next to ``runs/``).
    """
    if spec.startswith((".", "/", "~")) or "\\" in spec or spec.endswith("/"):
        return True
    if spec.count("/") > 1:
        return True
    head, sep, _ = spec.partition("/")
    return bool(sep) and Path(head).is_dir()


def missing(spec: str) -> str:
    """The message for a path-like spec that does not exist: it names the first part of
    the path that is missing and the folder it was looked for in (relative specs are
    relative to the working folder)."""
    path = Path(spec).expanduser().absolute()
    first = path
    while not first.parent.exists() and first.parent != first:
        first = first.parent
    return f"{spec}: no such file or folder (no such folder {first.name!r} in {first.parent})"
