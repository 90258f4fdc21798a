"""The token lists of a corpus file, for training word vectors: running text, or a CoNLL/CoNLL-U file's tokens.

``tagger.vectors.train_vectors`` takes any re-iterable of token lists; this module gives one for a
file, re-read on every pass (gensim makes several), so that ``tagger/`` reads no corpus itself.
"""

from __future__ import annotations

import os
from typing import Iterator, List, Union

from tagger.corpora.columns import check_file, decode_error
from tagger.corpora.detect import detect_format, read_sentences
from tagger.errors import ConfigError

CORPUS_FORMATS = ("auto", "text", "conll", "conllu")

PathLike = Union[str, "os.PathLike[str]"]

_SNIFF_LINES = 200
_MAX_COLUMNS = 20  # a "column file" with more fields per row is taken for running text


def detect_corpus_format(path: PathLike) -> str:
    """Tell a raw-text corpus from a CoNLL column file or CoNLL-U by the first lines.

    CoNLL-U is recognised by ``corpora.detect``. A file is a column file when its first
    non-blank lines (up to 200) all have the same number of fields, between 2 and 20, or a
    single field with blank lines between sentences; anything else is running text (one
    sentence per line). Pass the format explicitly when this guess is wrong.

    Returns:
        ``"text"``, ``"conll"`` or ``"conllu"``.

    Raises:
        CorpusFormatError: Missing file, a directory, or not UTF-8.
    """
    name = check_file(path)
    if detect_format(name) == "conllu":
        return "conllu"
    counts: set[int] = set()  # the column counts seen
    blank = False
    with open(name, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number >= _SNIFF_LINES * 2 or len(counts) > 1:
                break
            fields = line.split()
            if not fields:
                blank = True
            elif fields[0] != "-DOCSTART-":
                counts.add(len(fields))
    if len(counts) == 1:
        (width,) = counts
        if 2 <= width <= _MAX_COLUMNS or (width == 1 and blank):
            return "conll"
    return "text"


class CorpusSentences:
    """The token lists of a corpus, re-read from the file on every pass (gensim makes several).

    Args:
        path: A raw-text file (one sentence per line, tokens separated by whitespace) or a
            CoNLL/CoNLL-U file (its token column is used).
        format: ``auto`` (see :func:`detect_corpus_format`), ``text``, ``conll`` or ``conllu``.
        lowercase: Lowercase every token.

    Raises:
        ConfigError: An unknown ``format``.
        CorpusFormatError: The file is missing, a directory, or not UTF-8.
    """

    def __init__(self, path: PathLike, format: str = "auto", *, lowercase: bool = False):
        if format not in CORPUS_FORMATS:
            raise ConfigError(f"corpus format must be one of {', '.join(CORPUS_FORMATS)}, got {format!r}")
        self.path = check_file(path)
        self.format = detect_corpus_format(self.path) if format == "auto" else format
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[List[str]]:
        if self.format == "text":
            tokens_of = self._text_sentences()
        else:
            tokens_of = (sentence.tokens for sentence in read_sentences(self.path, self.format))
        for tokens in tokens_of:
            yield [t.lower() for t in tokens] if self.lowercase else list(tokens)

    def _text_sentences(self) -> Iterator[List[str]]:
        with open(self.path, encoding="utf-8-sig", newline=None) as handle:
            try:
                for line in handle:
                    tokens = line.split()
                    if tokens:
                        yield tokens
            except UnicodeDecodeError as exc:
                raise decode_error(self.path, exc) from None
