"""Errors a user can cause, each a one-line message naming the file, line or option at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


class TaggerError(Exception):
    """Base of every error the toolkit reports to users; the CLI prints it as one line, exit 2.

    Args:
        message: What went wrong, in words a user can act on.
        path: The file at fault, if any.
        line: The 1-based line number in ``path``, if known.
    """

    def __init__(self, message: str, path: Optional[Union[str, Path]] = None, line: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class CorpusFormatError(TaggerError, ValueError):
    """A corpus file that cannot be read: bad columns, bad bytes, not a file."""


class InvalidTagSequence(TaggerError, ValueError):
    """A tag sequence that breaks its scheme (e.g. ``I-PER`` after ``B-LOC`` in IOB2)."""


class ConfigError(TaggerError, ValueError):
    """A bad option or configuration value."""


class ModelFileError(TaggerError):
    """A model directory that is missing, incomplete, corrupt or from a newer format."""


class EmbeddingsError(TaggerError):
    """A word-vector file that cannot be read."""


class OutputError(TaggerError):
    """An output path that cannot or must not be written (an input file, a read-only or full disk, ...)."""


class TrainingError(TaggerError):
    """Training that cannot go on: a non-finite loss, or a checkpoint that does not match the run."""


class UnsafeFormatWarning(UserWarning):
    """A file is being loaded in a format that can run code (gensim's pickles), because the user named it."""
