"""Corpus format detection (CoNLL columns or CoNLL-U) and the one entry point ``read_sentences``."""

from __future__ import annotations

import re
from typing import Iterator, Optional, Sequence

from tagger.corpora.columns import MAX_SENTENCE_LENGTH, PathLike, Sentence, check_file, read_columns
from tagger.corpora.conllu import read_conllu
from tagger.errors import ConfigError, CorpusFormatError

FORMATS = ("conll", "conllu")
_FORMAT_ALIASES = {"conll": "conll", "columns": "conll", "column": "conll", "conllu": "conllu", "conll-u": "conllu"}
_CONLLU_ID = re.compile(r"[0-9]+(?:-[0-9]+|\.[0-9]+)?")
_SNIFF_BYTES = 1 << 16


def normalize_format(name: str) -> str:
    """Return ``"auto"``, ``"conll"`` or ``"conllu"`` for a format name (case-insensitive).

    Raises:
        ConfigError: Unknown format.
    """
    key = name.lower() if isinstance(name, str) else None
    if key == "auto":
        return "auto"
    canonical = _FORMAT_ALIASES.get(key) if key is not None else None
    if canonical is None:
        raise ConfigError(f"unknown corpus format {name!r}; choose auto, conll (alias columns) or conllu")
    return canonical


def detect_format(path: PathLike) -> str:
    """Tell a CoNLL-U file from a column file by its content.

    The first line that is neither blank nor a ``#`` comment decides: exactly 10 tab-separated
    fields with an integer, range (``1-2``) or empty-node (``8.1``) ID mean CoNLL-U; anything
    else (including an empty file, which the reader then rejects) means ``conll``.

    Args:
        path: The file.

    Returns:
        ``"conllu"`` or ``"conll"``.

    Raises:
        CorpusFormatError: Missing file, a directory, a link loop or unreadable.
    """
    name = check_file(path)
    try:
        with open(name, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise CorpusFormatError(f"cannot open: {exc.strerror or exc}", path=name) from None
    # Decoding errors are the reader's to report, with line and offset; here they only must not stop us.
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(head) == _SNIFF_BYTES and lines:
        lines.pop()  # possibly cut in the middle
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        return "conllu" if len(fields) == 10 and _CONLLU_ID.fullmatch(fields[0]) else "conll"
    return "conll"


def read_sentences(
    path: PathLike,
    format: str = "auto",
    *,
    num_columns: Optional[int] = None,
    column_names: Optional[Sequence[str]] = None,
    max_sentence_length: int = MAX_SENTENCE_LENGTH,
) -> Iterator[Sentence]:
    """Stream the sentences of a corpus file in either format.

    Args:
        path: The file.
        format: ``"auto"`` (detect from content), ``"conll"`` or ``"conllu"``.
        num_columns: For column files, the columns every row must have.
        column_names: For column files, names of the columns.
        max_sentence_length: Longest sentence accepted, in tokens.

    Returns:
        An iterator of ``Sentence``.

    Raises:
        ConfigError: Unknown format, or column options given for a CoNLL-U file.
        CorpusFormatError: See ``read_columns`` and ``read_conllu``.
    """
    fmt = normalize_format(format)
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "conllu":
        if num_columns is not None or column_names is not None:
            raise ConfigError("num_columns/column_names apply to column files, not CoNLL-U (always 10 columns)")
        return read_conllu(path, max_sentence_length=max_sentence_length)
    return read_columns(path, num_columns=num_columns, column_names=column_names, max_sentence_length=max_sentence_length)
