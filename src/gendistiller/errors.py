"""Error types whose message is meant for the user: one line, naming the file or key."""

from __future__ import annotations


class GenDistillerError(Exception):
    """Base class: the CLI prints these as one line, without a traceback."""


class ConfigError(GenDistillerError, ValueError):
    """A configuration value is missing, unknown or out of range (the message names the key)."""


class TeacherError(GenDistillerError):
    """A teacher cannot be loaded or does not have what was asked of it."""


class CheckpointError(GenDistillerError):
    """A saved model cannot be loaded (wrong format version, pickled weights, missing files)."""


class DataError(GenDistillerError):
    """No usable audio, or a data source that cannot be read."""


def one_line(err: BaseException, limit: int = 300) -> str:
    """An exception's message on one line (whitespace collapsed, cut at ``limit``), or its
    type name when it has no message: for the "<file>: <problem> (<cause>)" errors above."""
    text = " ".join(str(err).split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return text or type(err).__name__
