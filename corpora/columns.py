r"""Streaming reader for CoNLL-style column files (CoNLL-2003, CoNLL-2000, WNUT-17 token/tag files).

Format handled by ``read_columns``:

* one token per line, its columns separated by whitespace; a whitespace-only line (WNUT-17's
  train file uses single-tab lines) ends a sentence, and the last sentence is kept even
  without a trailing blank line;
* the separator is decided per file from its first row: a row containing a tab makes the file
  tab-separated, and then only tabs separate columns, so tokens may contain spaces; otherwise
  runs of ASCII spaces/tabs separate columns (non-ASCII whitespace such as U+00A0 stays inside
  tokens);
* ``-DOCSTART-`` rows are dropped and end the current document (``Sentence.document`` counts
  documents from 0);
* every row must have as many columns as the first (or ``num_columns``); nothing is padded;
* there are no comment lines: ``#`` is a real token in CoNLL-2000.

Files are read as UTF-8 (a leading byte-order mark is ignored) with ``\r\n`` read as ``\n``;
UTF-16 and UTF-32 files (by their byte-order mark, or UTF-16's NUL bytes) are refused with a
hint to convert them, rather than guessed at.
Errors raise ``CorpusFormatError`` naming the file and line. Memory stays at one sentence, and a
sentence longer than ``max_sentence_length`` fails at once (a file with no blank lines is usually
not one huge sentence but the wrong file).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from dataclasses import dataclass, field
from typing import IO, Iterator, Optional, Sequence, Union

from tagger.errors import ConfigError, CorpusFormatError

MAX_SENTENCE_LENGTH = 10_000
"""Default cap on tokens per sentence; longer ones are taken as a format error."""

PathLike = Union[str, "os.PathLike[str]"]

_ASCII_BLANKS = re.compile(r"[ \t\n\r\f\v]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a corpus file.

    Attributes:
        tokens: The words (the first column of a column file, FORM in CoNLL-U).
        columns: Every column of the file, in file order, each a list with one entry per token.
            For column files ``columns[0] is tokens``; for CoNLL-U the ten columns are ID, FORM,
            LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC (``column_names`` holds them in
            lower case), restricted to word lines.
        path: The file it came from.
        first_line: The 1-based line number of its first token.
        document: Index of its document (``-DOCSTART-`` or ``# newdoc`` boundaries), from 0.
        metadata: CoNLL-U comments before it (``# key = value``; a comment without ``=`` maps to "").
        column_names: Names of ``columns`` when known (CoNLL-U, or given to ``read_columns``), else ().
    """

    tokens: list[str]
    columns: tuple[list[str], ...]
    path: str
    first_line: int
    document: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    column_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        """The number of tokens."""
        return len(self.tokens)

    def column(self, key: Union[int, str]) -> list[str]:
        """Return one column by 0-based index or by name (see ``column_names``).

        Raises:
            ConfigError: No such column.
        """
        if isinstance(key, str):
            if key not in self.column_names:
                raise ConfigError(f"no column named {key!r}; columns: {', '.join(self.column_names) or 'unnamed'}")
            return self.columns[self.column_names.index(key)]
        if not -len(self.columns) <= key < len(self.columns):
            raise ConfigError(f"no column {key}: the file has {len(self.columns)} columns")
        return self.columns[key]


def shorten(text: str, width: int = 60) -> str:
    """``repr`` of a line without its newline, cut to about ``width`` characters for messages."""
    text = text.rstrip("\n")
    if len(text) > width:
        text = text[: width - 3] + "..."
    return repr(text)


def check_file(path: PathLike) -> str:
    """Return ``path`` as a string after checking that it is a readable regular file.

    Raises:
        CorpusFormatError: Missing, a broken symbolic link or a link loop, unreadable, a
            directory, or not a regular file.
    """
    name = os.fspath(path)
    try:
        status = os.stat(name)
    except OSError as exc:
        raise CorpusFormatError(_stat_problem(name, exc), path=name) from None
    if stat.S_ISDIR(status.st_mode):
        raise CorpusFormatError("is a directory, not a corpus file", path=name)
    if not stat.S_ISREG(status.st_mode):
        raise CorpusFormatError("not a regular file", path=name)
    return name


def _stat_problem(name: str, exc: OSError) -> str:
    """Why ``os.stat(name)`` failed, in words (a link loop is not a missing file)."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT and os.path.islink(name):
        return f"broken symbolic link (to {os.readlink(name)}, which does not exist)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    return f"cannot read: {exc.strerror or exc}"


# Byte-order marks of the encodings people save corpora in by mistake; UTF-32 first, as its
# little-endian mark begins with UTF-16's.
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def open_text(path: str) -> IO[str]:
    r"""Open a corpus file as strict UTF-8 text with universal newlines (``\r\n`` -> ``\n``).

    Raises:
        CorpusFormatError: The file cannot be opened, or starts with a UTF-16/UTF-32 byte-order mark.
    """
    check_encoding_mark(path)
    try:
        return open(path, encoding="utf-8-sig", errors="strict", newline=None)
    except OSError as exc:
        raise CorpusFormatError(f"cannot open: {exc.strerror or exc}", path=path) from exc


def check_encoding_mark(path: str) -> None:
    """Refuse a file that starts with a UTF-16 or UTF-32 byte-order mark (UTF-8 is expected).

    Raises:
        CorpusFormatError: Such a mark (naming the encoding and how to convert), or the file cannot be opened.
    """
    try:
        with open(path, "rb") as raw:
            head = raw.read(4)
    except OSError as exc:
        raise CorpusFormatError(f"cannot open: {exc.strerror or exc}", path=path) from exc
    for bom, encoding in _FOREIGN_BOMS:
        if head.startswith(bom):
            raise CorpusFormatError(
                f"{encoding} text (byte-order mark {bom.hex(' ').upper()}), not UTF-8: "
                f"convert it to UTF-8, e.g. iconv -f {encoding} -t UTF-8",
                path=path,
                line=1,
            )


def nul_error(path: str, line_no: int, line: str) -> CorpusFormatError:
    """The error for a line holding a NUL character: UTF-16 without a byte-order mark, or binary data."""
    column = line.index("\x00") + 1
    text = line.rstrip("\n")
    if len(text) >= 2 and text.count("\x00") * 2 >= len(text) - 1:
        return CorpusFormatError(
            "NUL bytes between the characters: UTF-16 without a byte-order mark? convert it to UTF-8, e.g. iconv -f UTF-16LE -t UTF-8",
            path=path,
            line=line_no,
        )
    return CorpusFormatError(f"NUL byte at column {column}: is this a binary file?", path=path, line=line_no)


def decode_error(path: str, exc: UnicodeDecodeError) -> CorpusFormatError:
    """Build the error for a file that is not UTF-8, naming the first bad line and byte offset."""
    offset = 0
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                byte = raw[bad.start]
                return CorpusFormatError(
                    f"not UTF-8: byte 0x{byte:02x} at byte offset {offset + bad.start} "
                    f"(column {bad.start + 1} of the line); re-encode the file as UTF-8",
                    path=path,
                    line=line_no,
                )
            offset += len(raw)
    return CorpusFormatError(f"not UTF-8 ({exc.reason})", path=path)


def read_columns(
    path: PathLike,
    *,
    num_columns: Optional[int] = None,
    column_names: Optional[Sequence[str]] = None,
    max_sentence_length: int = MAX_SENTENCE_LENGTH,
) -> Iterator[Sentence]:
    """Stream the sentences of a whitespace- or tab-separated column file.

    Args:
        path: The file.
        num_columns: Columns every row must have; default: as many as the first row.
        column_names: Optional names for the columns (sets ``num_columns`` too).
        max_sentence_length: Longest sentence accepted, in tokens.

    Returns:
        An iterator of ``Sentence``; the file is checked to exist now, and read lazily.

    Raises:
        CorpusFormatError: Missing file or directory (at once), or while iterating: bad column
            count, NUL byte, invalid UTF-8, over-long sentence, or no sentence at all.
        ConfigError: ``num_columns`` and ``column_names`` disagree.
    """
    name = check_file(path)
    names = tuple(column_names) if column_names is not None else ()
    if column_names is not None:
        if num_columns is not None and num_columns != len(names):
            raise ConfigError(f"num_columns={num_columns} but {len(names)} column_names were given")
        num_columns = len(names)
    if num_columns is not None and num_columns < 1:
        raise ConfigError(f"num_columns must be at least 1, got {num_columns}")
    return _read_columns(name, num_columns, names, max_sentence_length)


def _read_columns(path: str, num_columns: Optional[int], names: tuple[str, ...], max_sentence_length: int) -> Iterator[Sentence]:
    # One loop over the lines, kept inline for speed: only errors and finished sentences call out.
    rows: list[list[str]] = []
    first_line = 0
    document = 0
    document_has_sentences = False
    emitted = 0
    line_no = 0
    expected = num_columns
    expected_from = "num_columns" if num_columns is not None else ""
    tab_separated: Optional[bool] = None
    handle = open_text(path)
    try:
        for line_no, line in enumerate(handle, 1):
            if line.isspace():
                if rows:
                    yield make_sentence(rows, 0, path, first_line, document, {}, names)
                    emitted += 1
                    document_has_sentences = True
                    rows = []
                continue
            if "\x00" in line:
                raise nul_error(path, line_no, line)
            if line.startswith("-DOCSTART-") and (len(line) == 10 or line[10].isspace()):
                if rows:
                    yield make_sentence(rows, 0, path, first_line, document, {}, names)
                    emitted += 1
                    document_has_sentences = True
                    rows = []
                if document_has_sentences:
                    document += 1
                    document_has_sentences = False
                continue
            if tab_separated is None:
                tab_separated = "\t" in line.rstrip()
            if tab_separated:
                fields = line.rstrip().split("\t")
            elif line.isascii():
                fields = line.split()
            else:
                fields = _ASCII_BLANKS.split(line.strip(" \t\n\r\f\v"))
            if len(fields) != expected:
                if expected is not None:
                    raise _column_count_error(path, line_no, line, expected, expected_from, len(fields))
                expected, expected_from = len(fields), f"as on line {line_no}"
            if not rows:
                first_line = line_no
            elif len(rows) >= max_sentence_length:
                raise too_long_error(path, line_no, first_line, max_sentence_length, "tokens")
            rows.append(fields)
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc) from None
    finally:
        handle.close()
    if rows:
        yield make_sentence(rows, 0, path, first_line, document, {}, names)
        emitted += 1
    if not emitted:
        raise no_sentences_error(path, line_no, "only blank lines and -DOCSTART-")


def make_sentence(
    rows: list[list[str]], token_column: int, path: str, first_line: int, document: int, metadata: dict[str, str], names: tuple[str, ...]
) -> Sentence:
    """The ``Sentence`` of a sentence's rows (one list of fields per token), its tokens column ``token_column``."""
    columns = tuple(map(list, zip(*rows)))
    return Sentence(columns[token_column], columns, path, first_line, document, metadata, names)


def _column_count_error(path: str, line_no: int, line: str, expected: int, expected_from: str, got: int) -> CorpusFormatError:
    """The error for a row whose column count differs from the file's."""
    return CorpusFormatError(f"expected {expected} columns ({expected_from}), got {got}: {shorten(line)}", path=path, line=line_no)


def too_long_error(path: str, line_no: int, first_line: int, max_sentence_length: int, unit: str) -> CorpusFormatError:
    """The error for a sentence that reaches line ``line_no`` with ``max_sentence_length`` ``unit`` already."""
    return CorpusFormatError(
        f"sentence starting on line {first_line} is longer than max_sentence_length="
        f"{max_sentence_length} {unit} (is a blank line missing between sentences?)",
        path=path,
        line=line_no,
    )


def no_sentences_error(path: str, lines: int, otherwise: str) -> CorpusFormatError:
    """The error for a file of ``lines`` lines without a sentence; ``otherwise`` says what it held, when not empty."""
    what = "the file is empty" if lines == 0 else otherwise
    return CorpusFormatError(f"no sentences ({what})", path=path, line=max(lines, 1))
