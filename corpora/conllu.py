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
from typing import Iterator, Optional

from tagger.corpora.columns import (
    MAX_SENTENCE_LENGTH,
    PathLike,
    Sentence,
    check_file,
    decode_error,
    make_sentence,
    no_sentences_error,
    nul_error,
    open_text,
    shorten,
    too_long_error,
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
    # One loop over the lines, kept inline for speed: only errors and finished sentences call out.
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
                    yield make_sentence(rows, 1, path, first_line, document, metadata, CONLLU_COLUMNS)
                    emitted += 1
                    document_has_sentences = True
                elif in_sentence:
                    raise _no_words_error(path, line_no)
                rows, metadata, in_sentence = [], {}, False
                continue
            if "\x00" in line:
                raise nul_error(path, line_no, line)
            if line.startswith("#"):
                if in_sentence:
                    raise _error("comment inside a sentence (comments must come before its first word line)", path, line_no, line)
                key, _, value = line[1:].partition("=")
                key = key.strip()
                if key.startswith("newdoc") and document_has_sentences:
                    document += 1
                    document_has_sentences = False
                metadata[key] = value.strip()
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 10:
                raise _error(f"expected 10 tab-separated CoNLL-U columns, got {len(fields)}", path, line_no, line)
            word_id = fields[0]
            in_sentence = True
            if word_id.isdigit() and word_id.isascii():
                if not rows:
                    first_line = line_no
                elif len(rows) >= max_sentence_length:
                    raise too_long_error(path, line_no, first_line, max_sentence_length, "words")
                if word_id != str(len(rows) + 1):
                    raise _error(f"word ID {word_id} where {len(rows) + 1} was expected (is a blank line missing?)", path, line_no)
                rows.append(fields)
            elif not _SKIPPED_ID.fullmatch(word_id):
                raise _error(f"bad ID {word_id!r}: expected an integer, a range like 3-4 or an empty node like 8.1", path, line_no)
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc) from None
    finally:
        handle.close()
    if rows:
        yield make_sentence(rows, 1, path, first_line, document, metadata, CONLLU_COLUMNS)
        emitted += 1
    elif in_sentence:
        raise _no_words_error(path, line_no)
    if not emitted:
        raise no_sentences_error(path, line_no, "no word lines")


def _error(problem: str, path: str, line_no: int, line: Optional[str] = None) -> CorpusFormatError:
    """The error for a malformed line: the problem, then the line itself (shortened) when given."""
    return CorpusFormatError(problem if line is None else f"{problem}: {shorten(line)}", path=path, line=line_no)


def _no_words_error(path: str, line_no: int) -> CorpusFormatError:
    """The error for a sentence that has range or empty-node lines but no word line."""
    return CorpusFormatError("sentence without any word line (only ranges or empty nodes)", path=path, line=line_no)
