"""Streaming CoNLL-U reader: word lines as ``Sentence`` columns, comments as metadata.

Each non-comment, non-blank line must have exactly 10 tab-separated columns (ID FORM LEMMA UPOS
XPOS FEATS HEAD DEPREL DEPS MISC); FORM may contain spaces. Multiword-token ranges (``3-4``) and
empty nodes (``8.1``) are skipped, as a tagger sees only syntactic words (integer IDs), which
must run 1, 2, 3, ... within a sentence. ``# key = value`` comments before a sentence become its
``metadata`` (``sent_id``, ``text``, ...); ``# newdoc`` starts a new document. A blank (or
whitespace-only) line ends a sentence; the last one is kept without it.
"""

from __future__ import annotations

import re
from typing import Iterator

from tagger.corpora.columns import (
    MAX_SENTENCE_LENGTH,
    PathLike,
    Sentence,
    check_file,
    decode_error,
    nul_error,
    open_text,
    shorten,
)
from tagger.errors import CorpusFormatError

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
"""Names of ``Sentence.columns`` for CoNLL-U files, in file order."""

_SKIPPED_ID = re.compile(r"[0-9]+-[0-9]+|[0-9]+\.[0-9]+")


def read_conllu(path: PathLike, *, max_sentence_length: int = MAX_SENTENCE_LENGTH) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL-U file.

    Args:
        path: The file.
        max_sentence_length: Longest sentence accepted, in words.

    Returns:
        An iterator of ``Sentence`` with ``tokens`` = FORM and ``column_names`` = ``CONLLU_COLUMNS``;
        the file is checked to exist now, and read lazily.

    Raises:
        CorpusFormatError: Missing file or directory (at once), or while iterating: a line
            without 10 tab-separated columns, a bad or out-of-order ID, a comment inside a
            sentence, NUL byte, invalid UTF-8, over-long sentence, or no sentence at all.
    """
    return _read_conllu(check_file(path), max_sentence_length)


def _read_conllu(path: str, max_sentence_length: int) -> Iterator[Sentence]:
    rows: list[list[str]] = []
    metadata: dict[str, str] = {}
    in_sentence = False  # a word, range or empty-node line was seen since the last blank line
    first_line = 0
    document = 0
    document_has_sentences = False
    emitted = 0
    line_no = 0
    handle = open_text(path)
    try:
        for line_no, line in enumerate(handle, 1):
            if line.isspace():
                if rows:
                    columns = tuple(map(list, zip(*rows)))
                    yield Sentence(columns[1], columns, path, first_line, document, metadata, CONLLU_COLUMNS)
                    emitted += 1
                    document_has_sentences = True
                elif in_sentence:
                    raise CorpusFormatError("sentence without any word line (only ranges or empty nodes)", path=path, line=line_no)
                rows, metadata, in_sentence = [], {}, False
                continue
            if "\x00" in line:
                raise nul_error(path, line_no, line)
            if line.startswith("#"):
                if in_sentence:
                    raise CorpusFormatError(
                        "comment inside a sentence (comments must come before its first word line): " + shorten(line),
                        path=path,
                        line=line_no,
                    )
                key, _, value = line[1:].partition("=")
                key = key.strip()
                if key.startswith("newdoc") and document_has_sentences:
                    document += 1
                    document_has_sentences = False
                metadata[key] = value.strip()
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 10:
                raise CorpusFormatError(
                    f"expected 10 tab-separated CoNLL-U columns, got {len(fields)}: {shorten(line)}",
                    path=path,
                    line=line_no,
                )
            word_id = fields[0]
            in_sentence = True
            if word_id.isdigit() and word_id.isascii():
                if not rows:
                    first_line = line_no
                elif len(rows) >= max_sentence_length:
                    raise CorpusFormatError(
                        f"sentence starting on line {first_line} is longer than max_sentence_length="
                        f"{max_sentence_length} words (is a blank line missing between sentences?)",
                        path=path,
                        line=line_no,
                    )
                if word_id != str(len(rows) + 1):
                    raise CorpusFormatError(
                        f"word ID {word_id} where {len(rows) + 1} was expected (is a blank line missing?)",
                        path=path,
                        line=line_no,
                    )
                rows.append(fields)
            elif not _SKIPPED_ID.fullmatch(word_id):
                raise CorpusFormatError(
                    f"bad ID {word_id!r}: expected an integer, a range like 3-4 or an empty node like 8.1",
                    path=path,
                    line=line_no,
                )
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc) from None
    finally:
        handle.close()
    if rows:
        columns = tuple(map(list, zip(*rows)))
        yield Sentence(columns[1], columns, path, first_line, document, metadata, CONLLU_COLUMNS)
        emitted += 1
    elif in_sentence:
        raise CorpusFormatError("sentence without any word line (only ranges or empty nodes)", path=path, line=line_no)
    if not emitted:
        what = "the file is empty" if line_no == 0 else "no word lines"
        raise CorpusFormatError(f"no sentences ({what})", path=path, line=max(line_no, 1))
