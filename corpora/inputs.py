r"""Readers of the input ``tagger tag`` tags: running text, token lines and CoNLL files, as ``InputSentence`` streams.

Every reader is lazy (a 1 GB file streams in bounded memory) and records where each sentence came
from (``source``: the path, ``-`` for stdin). Offsets are character offsets into the file as
written (``\r\n`` counts two characters, a leading byte-order mark none); for CoNLL input they index
the tokens joined by single spaces. Pass the stream to ``Tagger.iter_tag``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import IO, Iterator, Optional, Sequence

from tagger.corpora.columns import check_encoding_mark, check_file
from tagger.corpora.columns import decode_error as corpus_decode_error
from tagger.errors import ConfigError, CorpusFormatError, TaggerError
from tagger.results import InputSentence
from tagger.tokenize import DEFAULT_CHUNK_CHARS, TokenizedSentence, split_stream

STDIN = "-"
"""The path that names stdin."""
STDIN_NAME = "<stdin>"
"""How errors name stdin."""

INPUT_FORMATS = ("text", "tokens", "conll")


def stdin_bytes() -> IO[bytes]:
    """The byte stream under ``sys.stdin``.

    Raises:
        ConfigError: ``sys.stdin`` has no byte stream under it.
    """
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        raise ConfigError("stdin is not a byte stream; pass a file name instead of '-'")
    return buffer


@contextlib.contextmanager
def open_text_input(path: str, *, newline: Optional[str] = "") -> Iterator[IO[str]]:
    r"""Open a user's input file (or stdin for ``-``) as UTF-8 text; a leading BOM is dropped.

    ``newline=""`` keeps ``\r\n`` as it is, so character offsets count every character of the file.

    Raises:
        CorpusFormatError: Missing file, a directory, not readable, or UTF-16/UTF-32 text.
    """
    if path == STDIN:
        wrapper = io.TextIOWrapper(stdin_bytes(), encoding="utf-8-sig", errors="strict", newline=newline)
        try:
            yield wrapper
        finally:
            with contextlib.suppress(ValueError):
                wrapper.detach()  # leave the process's stdin open
        return
    name = check_file(path)
    check_encoding_mark(name)
    try:
        handle = open(name, encoding="utf-8-sig", errors="strict", newline=newline)  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise CorpusFormatError(f"cannot open: {exc.strerror or exc}", name) from None
    with handle:
        yield handle


def decode_error(path: str, exc: UnicodeDecodeError) -> TaggerError:
    """The error for input that is not UTF-8, naming the file and (for files) the line."""
    if path == STDIN:
        return CorpusFormatError(f"input is not valid UTF-8 text ({exc.reason})", STDIN_NAME)
    return corpus_decode_error(path, exc)


def read_text(path: str, *, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> Iterator[InputSentence]:
    """Running text split into sentences and tokens (``tagger.tokenize.split_stream``)."""
    with open_text_input(path) as handle:
        try:
            for sentence in split_stream(handle, chunk_chars=chunk_chars):
                yield InputSentence.from_tokenized(sentence, path)
        except UnicodeDecodeError as exc:
            raise decode_error(path, exc) from None


def read_token_lines(path: str) -> Iterator[InputSentence]:
    """One pre-tokenised sentence per line (tokens separated by whitespace); blank lines are skipped."""
    with open_text_input(path) as handle:
        position = 0
        try:
            for line in handle:
                sentence = TokenizedSentence.from_line(line, position)
                position += len(line)
                if sentence is not None:
                    yield InputSentence.from_tokenized(sentence, path)
        except UnicodeDecodeError as exc:
            raise decode_error(path, exc) from None


def read_conll(path: str, corpus_format: str = "auto") -> Iterator[InputSentence]:
    """Sentences of a CoNLL column or CoNLL-U file, with their columns (gold tags are ignored)."""
    if path != STDIN:
        yield from _conll_sentences(path, path, corpus_format)
        return
    # The corpus readers take a path: spool stdin to a temporary file (on disk, not in memory).
    with tempfile.TemporaryDirectory(prefix="tagger-stdin-") as tmp:
        spooled = os.path.join(tmp, "stdin.conll")
        with open(spooled, "wb") as out:
            stream = stdin_bytes()
            for block in iter(lambda: stream.read(1 << 20), b""):
                out.write(block)
        try:
            yield from _conll_sentences(spooled, STDIN, corpus_format)
        except TaggerError as exc:
            if exc.path == spooled:
                exc.path = STDIN_NAME
            raise


def _conll_sentences(path: str, source: str, corpus_format: str) -> Iterator[InputSentence]:
    from tagger.corpora.detect import read_sentences

    for sentence in read_sentences(path, corpus_format):
        yield InputSentence.from_tokenized(TokenizedSentence.from_tokens(sentence.tokens), source, sentence.columns)


def read_inputs(paths: Sequence[str], input_format: str = "text", corpus_format: str = "auto") -> Iterator[InputSentence]:
    """The sentences of every input, one file after another.

    Args:
        paths: Files, ``-`` for stdin.
        input_format: ``text`` (running text), ``tokens`` (a sentence per line) or ``conll``.
        corpus_format: For ``conll``: auto, conll or conllu.

    Raises:
        ConfigError: An unknown input format.
    """
    if input_format not in INPUT_FORMATS:
        raise ConfigError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got {input_format!r}")
    for path in paths:
        if input_format == "text":
            yield from read_text(path)
        elif input_format == "tokens":
            yield from read_token_lines(path)
        else:
            yield from read_conll(path, corpus_format)
