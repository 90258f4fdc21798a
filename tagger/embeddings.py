"""Pretrained word vectors: detect a vector file's format and build the embedding matrix for a vocabulary.

The toolkit's one reader of vector files: :func:`build_matrix` for training, :func:`load_vectors`
(gensim ``KeyedVectors``) and :func:`vectors_info` for ``tagger embeddings info``; ``tagger.vectors``
only trains and saves. Supported files: word2vec binary and text (``GoogleNews-vectors-
negative300.bin``, fastText ``.vec``), GloVe text without a header line (``glove.6B.100d.txt``),
gensim's own saved ``KeyedVectors``/``Word2Vec``/``FastText`` files and Facebook fastText ``.bin``
models (``cc.en.300.bin``), any of them gzip-compressed too.

Vector files come from the internet, so none is trusted:

- gensim's own files are pickles, and loading a pickle can run any code. They are loaded only when
  the caller names the format (``format="gensim"``), never because of a file's content or suffix,
  and loading one emits :class:`UnsafeFormatWarning`. Under ``format="auto"`` a pickle is an error.
- Numbers from a header are checked before anything is allocated: the vector size against
  :data:`MAX_DIM`, and an uncompressed file's vector count (and fastText's matrix shape) against the
  file's size. A compressed file's count is never trusted (memory grows with the rows actually read).
- A line longer than :data:`MAX_LINE_BYTES` is an error, so no "line" is read whole into memory.
- A row the vocabulary uses must hold finite numbers: ``nan``, ``inf`` or a value beyond float32 is
  an error naming the file and line (or entry). Rows nobody asks for are skipped unparsed.

word2vec and GloVe files are *streamed*: one pass over the file keeps only the rows the vocabulary
asks for, and skips the other rows without parsing their floats, so a 1M x 300 file never sits in
memory as a whole. gensim loads only the formats nobody can stream (its pickles, fastText models),
and none of its objects outlive :func:`build_matrix`.

Each word is looked up through :func:`tagger.wordforms.lookup_forms` (exact form, then lowercase,
then lowercase with digits as ``0``), first hit wins; fastText models then fall back to the
word's character n-grams; every other word gets a seeded random row.
"""

from __future__ import annotations

import codecs
import functools
import gc
import gzip
import math
import numbers
import re
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union, cast

import numpy as np

from tagger.errors import ConfigError, EmbeddingsError, UnsafeFormatWarning
from tagger.wordforms import lookup_forms

FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove", "gensim", "fasttext")

PAD = "<pad>"  # its row is all zeros and it is never looked up in a file
UNK = "<unk>"  # its row is random and it is never looked up in a file
RESERVED = (PAD, UNK)

FASTTEXT_MAGIC = 793712314  # little-endian int32 at offset 0 of a Facebook fastText .bin
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_NATIVE_SUFFIXES = (".kv", ".model", ".wv")  # gensim's usual names: never a reason to unpickle, only a hint
_COMPRESSED_SUFFIXES = (".gz", ".bz2")
_SNIFF_BYTES = 1 << 20  # enough for the header and a whole first text row of any sane width
_READ_BYTES = 1 << 22  # binary reads; large reads bypass the buffered reader's copy
_MAX_WORD_BYTES = 1 << 20  # a "word" longer than this means the file is not word2vec binary
_CHUNK_BYTES = 64 << 20  # above glibc's mmap threshold, so a freed chunk goes back to the OS at once

MAX_DIM = 10_000
"""The largest vector size a file may declare. Published vectors have 25 to 1,024 dimensions (4,096
at most); a larger header number is taken for a corrupt or hostile file, not a reason to allocate."""
MAX_LINE_BYTES = _SNIFF_BYTES
"""The longest line a text vector file may have (1 MiB: a MAX_DIM row of long floats fits in a quarter)."""
MAX_FILE_VALUES = 50_000_000
"""How many numbers a vector file's own rows add to a trained model by default (``build_matrix``'s
``max_values``): 200 MB of float32, so all of GloVe 6B 50d (400,000 x 50 = 20 M) and 100d (40 M),
and the first 166,666 words of a 300d file."""
_MAX_HEADER_DIGITS = 18  # int() of a 5,000-digit "number" raises ValueError on Python >= 3.11
_PICKLE_HINT = (
    "loading a pickle can run code, so it is read only when its format is named, for a file you trust: "
    "format='gensim' (tagger train --embeddings-format gensim, tagger embeddings info --format gensim)"
)


PathLike = Union[str, Path]


@dataclass
class PretrainedMatrix:
    """An embedding matrix aligned to a vocabulary, and where each row came from.

    Attributes:
        words: Row ``i`` is the vector of ``words[i]``: the training vocabulary in its given order,
            then any extra rows.
        vectors: float32 array, shape ``(len(words), dim)``.
        found: bool array, shape ``(len(words),)``: True where the row came from the file (by a
            word form or fastText n-grams), False where it was randomly initialised (or is ``<pad>``).
        dim: Vector size.
        source: The vector file's path ("" for :func:`random_matrix`).
        format: The file format used (one of ``FORMATS`` but "auto"; "random" for :func:`random_matrix`).
        stats: Counts over the training vocabulary, reserved tokens excluded: "exact", "lower",
            "digits", "ngrams" (found by that form), "random" (not found); "reserved" (``<pad>``/
            ``<unk>`` rows), "extra" (rows beyond the training vocabulary), "file_vocab" (entries
            in the file).
    """

    words: list[str] = field(repr=False)
    vectors: np.ndarray = field(repr=False)
    found: np.ndarray = field(repr=False)
    dim: int
    source: str
    format: str
    stats: dict[str, int]

    def coverage(self) -> float:
        """Share of the training vocabulary (reserved tokens excluded) found in the file; 0.0 if empty."""
        hits = sum(self.stats[kind] for kind in ("exact", "lower", "digits", "ngrams"))
        total = hits + self.stats["random"]
        return hits / total if total else 0.0


# --------------------------------------------------------------------------- format detection


def detect_format(path: PathLike) -> str:
    """Tell a vector file's format from its content; never "gensim", whose files are pickles.

    Args:
        path: The vector file; gzip-compressed files are looked into.

    Returns:
        One of "fasttext", "word2vec-binary", "word2vec-text", "glove".

    Raises:
        EmbeddingsError: The file is missing, unreadable, empty, a pickle (gensim's own format,
            loaded only by naming it: see :func:`resolve_format`), or in none of these formats.
    """
    path = _check_file(path)
    detected = _sniff(path)
    if detected == "gensim":
        raise EmbeddingsError(f"the file is a pickle (gensim's own format); {_PICKLE_HINT}", path)
    if detected is None:
        if _plain_suffix(path) in _NATIVE_SUFFIXES:
            raise EmbeddingsError(
                f"unrecognised word-vector format; a {_plain_suffix(path)} file is usually a gensim pickle, and {_PICKLE_HINT}",
                path,
            )
        raise EmbeddingsError(
            "unrecognised word-vector format (expected word2vec binary or text, GloVe text or a fastText .bin; "
            "gensim's own files are read only with format='gensim')",
            path,
        )
    return detected


def resolve_format(path: PathLike, format: str = "auto") -> str:
    """The format to read ``path`` in: detected under "auto", else ``format`` once the content agrees.

    "gensim" (a pickle) comes back only when asked for by name; :func:`load_gensim_vectors` then
    warns before loading it.

    Args:
        path: The vector file.
        format: One of ``FORMATS``.

    Returns:
        One of ``FORMATS`` but "auto".

    Raises:
        ConfigError: ``format`` is not one of ``FORMATS``.
        EmbeddingsError: The file is missing, unreadable, malformed, a pickle under "auto", or its
            content contradicts ``format``.
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown embeddings format {format!r}; expected one of {', '.join(FORMATS)}")
    checked = _check_file(path)
    return detect_format(checked) if format == "auto" else _confirm_format(checked, format)


def _sniff(path: Path) -> Optional[str]:
    """The format of ``path`` judged from its first megabyte ("gensim" for any pickle), or None when it fits none."""
    head = _read_head(path)
    if not head:
        raise EmbeddingsError("empty file; expected word vectors", path)
    if len(head) >= 4 and int.from_bytes(head[:4], "little", signed=True) == FASTTEXT_MAGIC:
        return "fasttext"
    if head[0] == 0x80:  # pickle protocol >= 2 (gensim writes 4); older pickles fit no format below
        return "gensim"
    ended = len(head) < _SNIFF_BYTES  # the whole file is in `head`
    head = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    first, rest = _split_line(head, ended)
    if first is None:
        return None
    header = _header_numbers(first, path)
    if header is not None:
        _check_header_range(*header, path)
        if not rest.strip():  # the file ends after its header: the suffix is all there is to go by
            return "word2vec-binary" if _plain_suffix(path) == ".bin" else "word2vec-text"
        second, _ = _split_line(rest, ended)
        if second is None:  # no newline within a megabyte: not a text row
            return "word2vec-binary"
        return "word2vec-text" if _is_text_row(second, header[1]) else "word2vec-binary"
    fields = first.split()
    if len(fields) >= 2 and _is_text_row(first, len(fields) - 1):
        _check_glove_dim(len(fields) - 1, path)
        return "glove"
    return None


def _read_head(path: Path) -> bytes:
    try:
        with _open_binary(path) as stream:
            return stream.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise EmbeddingsError(f"cannot read the file: {exc}", path) from None


def _split_line(data: bytes, ended: bool) -> tuple[Optional[bytes], bytes]:
    """Split ``data`` at its first newline into (line, rest); the line is None when it may go on past ``data``."""
    newline = data.find(b"\n")
    if newline >= 0:
        return data[:newline], data[newline + 1 :]
    if ended and data:  # the file's last line, without a final newline
        return data, b""
    return None, b""


_INTEGER = re.compile(rb"[+-]?[0-9]+")


def _header_numbers(line: bytes, path: Path) -> Optional[tuple[int, int]]:
    """(count, dim) when ``line`` is two integers, a word2vec header "N D" (maybe out of range), else None.

    A first line of two integers is always taken for a header, so "10 -5" is a bad header (line 1)
    rather than a one-dimensional GloVe row.
    """
    fields = line.split()
    if len(fields) != 2 or not all(_INTEGER.fullmatch(f) for f in fields):
        return None
    for number in fields:
        if len(number.lstrip(b"+-")) > _MAX_HEADER_DIGITS:
            raise EmbeddingsError(f"the header number {number[:20].decode()}... has {len(number)} digits; not a vector file?", path, 1)
    return int(fields[0]), int(fields[1])


def _check_header_range(count: int, dim: int, path: Path) -> None:
    """Reject a header whose numbers no vector file has (negative, zero or beyond MAX_DIM)."""
    if count < 0 or dim < 1:
        raise EmbeddingsError(f"bad word2vec header '{count} {dim}': expected COUNT >= 0 and DIM >= 1", path, 1)
    if dim > MAX_DIM:
        raise EmbeddingsError(f"the header gives dimension {dim}; vector files have at most MAX_DIM={MAX_DIM}", path, 1)


def _check_glove_dim(dim: int, path: Path) -> None:
    if dim > MAX_DIM:
        raise EmbeddingsError(f"the first row has dimension {dim}; vector files have at most MAX_DIM={MAX_DIM}", path, 1)


def _check_header_size(count: int, dim: int, path: Path, row_bytes: int, header_bytes: int) -> None:
    """Check an uncompressed file is big enough for ``count`` rows of at least ``row_bytes`` each.

    A compressed file's count is not checked (its size says little), and is never trusted: memory
    grows only with the rows actually read.
    """
    if _is_gzip(path) or not path.is_file():
        return
    available = path.stat().st_size - header_bytes
    if count * row_bytes > available:
        raise EmbeddingsError(
            f"the header announces {count} vectors of dimension {dim} (at least {row_bytes} bytes each), "
            f"but the file holds {available} bytes after it",
            path,
            1,
        )


def _is_text_row(line: bytes, dim: int) -> bool:
    """Whether ``line`` reads as a word followed by ``dim`` numbers."""
    fields = line.split()  # bytes: ASCII whitespace only, as the reader splits ("\x85" or "\u2028" may be a word)
    if len(fields) < dim + 1:
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        with np.errstate(over="ignore"):  # "1e50" is a number (too big for float32: the reader says so)
            np.array(fields[-dim:], dtype=np.float32)
    except ValueError:
        return False
    return True


def _confirm_format(path: Path, fmt: str) -> str:
    """Accept an explicit format unless the content clearly says otherwise (a pickle is never read as another format)."""
    detected = _sniff(path)
    if detected is None or detected == fmt:
        return fmt
    if detected == "gensim":
        raise EmbeddingsError(f"format {fmt!r} was given, but the file is a pickle (gensim's own format); {_PICKLE_HINT}", path)
    raise EmbeddingsError(f"format {fmt!r} was given, but the file looks like {detected!r}", path)


# --------------------------------------------------------------------------- public builders


def build_matrix(
    path: PathLike,
    vocab_words: Sequence[str],
    *,
    extra_words: Iterable[str] = (),
    max_vectors: Optional[int] = None,
    max_values: Optional[int] = None,
    format: str = "auto",
    seed: int = 0,
    unicode_errors: str = "strict",
) -> PretrainedMatrix:
    """Build the embedding matrix of a training vocabulary from a pretrained vector file.

    The first ``len(vocab_words)`` rows belong to ``vocab_words``, in order. ``"<pad>"`` gets zeros
    and ``"<unk>"`` a random row; neither is looked up. Every other word takes the file's vector
    of its first form in ``lookup_forms(word)`` that the file has (then, for fastText models, the
    vector of its character n-grams), else a random uniform(-sqrt(3/dim), sqrt(3/dim)) row. Random
    rows depend only on ``seed``, ``dim`` and the row index (they equal :func:`random_matrix`'s).

    Extra rows follow the vocabulary: first one per distinct ``extra_words`` word (first-seen order)
    that is not in the vocabulary and that the file gives a vector for by the same lookup (the row
    keeps the word as asked); then the first N words of the file (files list frequent words first)
    not already among the rows, in the file's form, with N = ``max_vectors``, or ``max_values //
    dim`` (the smaller when both are given; none when neither is). Words appearing twice in a file
    keep their first vector. The file is still read in one pass: its other rows are never parsed.

    Args:
        path: The vector file (see the module docstring for formats; ``.gz`` works too).
        vocab_words: The training vocabulary, distinct strings, reserved tokens first if any.
        extra_words: Other words to give rows when the file knows them (rare training words).
        max_vectors: Add the file's first N new words.
        max_values: Add as many of the file's first new words as fit in this many numbers (rows x dim).
        format: One of ``FORMATS``; "auto" detects it (see :func:`detect_format`). "gensim" (a
            pickle, which can run code) is loaded only when named here, with an
            :class:`UnsafeFormatWarning`.
        seed: Seed of the random rows.
        unicode_errors: How to decode words that are not valid UTF-8 (``str.decode``'s ``errors``);
            gensim's default "strict" makes such a word an error naming the entry.

    Returns:
        The matrix, its words and per-row provenance.

    Raises:
        EmbeddingsError: The file is missing, unreadable, truncated or malformed; a pickle under
            "auto"; a header number out of range or beyond the file's size; a used vector not finite.
        ConfigError: ``format``, ``max_vectors`` or ``max_values`` is not a valid option.
        ValueError: ``vocab_words`` holds a duplicate or a non-string.
    """
    vocab = _check_vocab(vocab_words)
    _check_build_options(max_vectors, max_values, unicode_errors)
    fmt = resolve_format(path, format)
    collector = _Collector(vocab, extra_words, max_vectors, max_values)
    if fmt in ("gensim", "fasttext"):
        return _build_from_gensim(Path(path), fmt, collector, seed)
    _stream_rows(Path(path), fmt, collector, unicode_errors)
    return collector.assemble(seed, str(path), fmt)


def _check_build_options(max_vectors: Optional[int], max_values: Optional[int], unicode_errors: str) -> None:
    """Raises ConfigError for an unknown ``unicode_errors`` handler or a bound that is not a count."""
    try:
        codecs.lookup_error(unicode_errors)
    except LookupError:
        raise ConfigError(f"unknown unicode_errors handler {unicode_errors!r}") from None
    for option, value in (("max_vectors", max_vectors), ("max_values", max_values)):
        if value is not None and (not _is_count(value) or value < 0):
            raise ConfigError(f"{option} must be None or an integer >= 0, got {value!r}")


def _stream_rows(path: Path, fmt: str, collector: _Collector, unicode_errors: str) -> None:
    """One pass over a word2vec or GloVe file, handing ``collector`` the rows it asks for.

    Raises:
        EmbeddingsError: the file cannot be read, or is malformed (see the readers).
    """
    try:
        # "1e50" overflows float32 to inf, quietly: the finiteness check reports it with its line.
        with _open_binary(path) as stream, np.errstate(over="ignore"):
            if fmt == "word2vec-binary":
                _read_word2vec_binary(stream, path, collector, unicode_errors)
            else:
                _read_text(stream, path, collector, unicode_errors, has_header=fmt == "word2vec-text")
    except (OSError, EOFError, zlib.error) as exc:
        raise EmbeddingsError(f"cannot read the file: {exc}", path) from None


def random_matrix(vocab_words: Sequence[str], dim: int, *, seed: int = 0) -> PretrainedMatrix:
    """A randomly initialised matrix for ``vocab_words`` (no vector file): the rows :func:`build_matrix` gives misses.

    Args:
        vocab_words: The vocabulary, distinct strings; ``"<pad>"`` gets zeros.
        dim: Vector size, >= 1.
        seed: Seed of the random rows.

    Returns:
        A matrix with ``found`` all False, ``source=""`` and ``format="random"``.

    Raises:
        ConfigError: ``dim`` is not a positive integer.
        ValueError: ``vocab_words`` holds a duplicate or a non-string.
    """
    vocab = _check_vocab(vocab_words)
    if not _is_count(dim) or dim < 1:
        raise ConfigError(f"embedding dim must be an integer >= 1, got {dim!r}")
    collector = _Collector(vocab, ())
    collector.start(int(dim))
    return collector.assemble(seed, "", "random")


# --------------------------------------------------------------------------- collecting rows


class _RowStore:
    """An append-only float32 row list in chunks, drained into the final matrix chunk by chunk.

    Chunks double in size (so memory follows the rows actually kept, whatever a header claims) up to
    64 MB, and never hold more rows than ``max_rows``.
    """

    def __init__(self, dim: int, max_rows: Optional[int] = None):
        self.dim = dim
        self.max_chunk_rows = max(1, _CHUNK_BYTES // (4 * dim))
        if max_rows is not None:
            self.max_chunk_rows = max(1, min(self.max_chunk_rows, max_rows))
        self.chunks: list[np.ndarray] = []
        self.size = 0
        self.free = 0  # unused rows at the end of the last chunk

    def append(self, vector: np.ndarray) -> None:
        if not self.free:
            rows = min(self.max_chunk_rows, max(256, self.size))
            # np.empty: the pages of a chunk count in RSS only once rows are written to them
            self.chunks.append(np.empty((rows, self.dim), dtype=np.float32))
            self.free = rows
        chunk = self.chunks[-1]
        chunk[len(chunk) - self.free] = vector
        self.free -= 1
        self.size += 1

    def drain_into(self, out: np.ndarray) -> None:
        """Copy every row into ``out`` (shape (size, dim)), freeing each chunk once copied."""
        assert out.shape == (self.size, self.dim)
        start = 0
        while self.chunks:
            chunk = self.chunks.pop(0)
            rows = min(len(chunk), self.size - start)
            out[start : start + rows] = chunk[:rows]
            start += rows
            del chunk
        self.size = 0
        self.free = 0


class _Collector:
    """What one pass over a vector file must keep, and the matrix assembled from it afterwards.

    The file is offered its words in order; the collector keeps the vector of every lookup form of
    a wanted word (first occurrence only) and the first new file words (as many as ``max_vectors``
    and ``max_values`` allow, known once the file's dimension is). Which form wins is decided only
    at the end, since a lowercase form may come before the exact one.
    """

    def __init__(self, vocab: list[str], extra_words: Iterable[str], max_vectors: Optional[int] = None, max_values: Optional[int] = None):
        self.vocab = vocab
        self.max_vectors = None if max_vectors is None else int(max_vectors)
        self.max_values = None if max_values is None else int(max_values)
        present = set(vocab)
        extra: list[str] = []
        seen: set[str] = set()
        for word in extra_words:
            if not isinstance(word, str):
                raise ValueError(f"extra_words must be strings, got {word!r}")
            if word not in seen and word not in present and word not in RESERVED:
                seen.add(word)
                extra.append(word)
        self.extra = extra
        self.slots: dict[str, int] = {}  # lookup form -> row of self.form_rows
        for word in [w for w in vocab if w not in RESERVED] + extra:
            for form in lookup_forms(word):
                self.slots.setdefault(form, len(self.slots))
        self.present = present | set(extra)  # exact row words (if found), never added again from the file
        self.max_added = 0  # file words to add, set by start()
        self.collecting = False
        self.added_words: list[str] = []
        self.file_entries = 0
        self.dim = 0

    def start(self, dim: int) -> None:
        """Allocate the buffers once the file's vector size is known (and so how many rows ``max_values`` allows)."""
        self.dim = dim
        bounds = [n for n in (self.max_vectors, None if self.max_values is None else self.max_values // dim) if n is not None]
        self.max_added = min(bounds, default=0)
        self.collecting = self.max_added > 0
        self.form_rows = np.empty((len(self.slots), dim), dtype=np.float32)
        self.have = bytearray(len(self.slots))
        self.added = _RowStore(dim, self.max_added)

    def wants(self, word: str) -> bool:
        """Whether the file's next entry, ``word``, has a vector worth parsing."""
        slot = self.slots.get(word)
        if slot is not None and not self.have[slot]:
            return True
        return self.collecting and word not in self.present

    def put(self, word: str, vector: np.ndarray) -> None:
        """Keep ``vector`` (shape (dim,)) for ``word`` wherever it is wanted."""
        slot = self.slots.get(word)
        if slot is not None and not self.have[slot]:
            self.form_rows[slot] = vector
            self.have[slot] = 1
        if self.collecting and word not in self.present:
            self.present.add(word)
            self.added_words.append(word)
            self.added.append(vector)
            if len(self.added_words) >= self.max_added:
                self.collecting = False

    def _lookup(self, word: str, ngrams: Optional[Callable[[str], Optional[np.ndarray]]]):
        for form in lookup_forms(word):
            slot = self.slots[form]
            if self.have[slot]:
                kind = "exact" if form == word else "lower" if form == word.lower() else "digits"
                return kind, self.form_rows[slot]
        if ngrams is not None:
            vector = ngrams(word)
            if vector is not None:
                return "ngrams", vector
        return None, None

    def assemble(
        self,
        seed: int,
        source: str,
        fmt: str,
        ngrams: Optional[Callable[[str], Optional[np.ndarray]]] = None,
    ) -> PretrainedMatrix:
        """Resolve every word to its best row and build the matrix (see :func:`build_matrix`)."""
        stats = {k: 0 for k in ("exact", "lower", "digits", "ngrams", "random", "reserved", "extra")}
        stats["file_vocab"] = self.file_entries
        extra_words, extra_rows = self._extra_rows(ngrams)
        n_vocab = len(self.vocab)
        n_found = n_vocab + len(extra_words)  # the rows of the file's own words start here
        extra_words += self.added_words
        n_rows = n_vocab + len(extra_words)
        vectors = np.empty((n_rows, self.dim), dtype=np.float32)  # shape: (n_rows, dim)
        found = np.zeros(n_rows, dtype=bool)
        self._fill_vocab_rows(vectors[:n_vocab], found[:n_vocab], stats, seed, ngrams)
        vector: Optional[np.ndarray] = None
        for offset, vector in enumerate(extra_rows):
            vectors[n_vocab + offset] = vector
        # Every lookup is done: free the form rows (and drop the last views into them) before the
        # added rows are copied over.
        del extra_rows
        vector = None
        del self.form_rows
        self.added.drain_into(vectors[n_found:])
        found[n_vocab:] = True
        stats["extra"] = len(extra_words)
        words = list(self.vocab) + list(extra_words)
        return PretrainedMatrix(words=words, vectors=vectors, found=found, dim=self.dim, source=source, format=fmt, stats=stats)

    def _extra_rows(self, ngrams: Optional[Callable[[str], Optional[np.ndarray]]]) -> tuple[list[str], list[np.ndarray]]:
        """The extra words the file gives a vector for (by the vocabulary's lookup), and those vectors."""
        words: list[str] = []
        rows: list[np.ndarray] = []
        for word in self.extra:
            _, vector = self._lookup(word, ngrams)
            if vector is not None:
                words.append(word)
                rows.append(vector)
        return words, rows

    def _fill_vocab_rows(
        self,
        vectors: np.ndarray,
        found: np.ndarray,
        stats: dict,
        seed: int,
        ngrams: Optional[Callable[[str], Optional[np.ndarray]]],
    ) -> None:
        """Fills the vocabulary's rows ``vectors`` (shape: (len(vocab), dim)): the file's vector, else random; counts each kind."""
        _fill_random(vectors, seed)
        for row, word in enumerate(self.vocab):
            if word in RESERVED:
                stats["reserved"] += 1
                if word == PAD:
                    vectors[row] = 0.0
                continue
            kind, vector = self._lookup(word, ngrams)
            if kind is None:
                stats["random"] += 1
            else:
                stats[kind] += 1
                vectors[row] = vector
                found[row] = True


def _fill_random(out: np.ndarray, seed: int) -> None:
    """Fill ``out`` (shape (rows, dim)) with uniform(-sqrt(3/dim), sqrt(3/dim)) draws, row-major.

    Row ``i`` depends only on ``seed``, ``dim`` and ``i``, so growing a vocabulary keeps old rows.
    """
    if out.size == 0:
        return
    bound = math.sqrt(3.0 / out.shape[1])
    np.random.default_rng(seed).random(out=out, dtype=np.float32)
    out *= 2.0 * bound
    out -= bound


# --------------------------------------------------------------------------- streaming readers


def _read_word2vec_binary(stream: IO[bytes], path: Path, collector: _Collector, unicode_errors: str) -> None:
    """One pass over a word2vec binary file: header line "N D", then N times "word " + D float32."""
    header = stream.readline(4096)
    count, dim = _parse_header(header, path)
    _check_header_size(count, dim, path, 4 * dim + 1, len(header))  # a row: at least a space and dim floats
    collector.start(dim)
    nbytes = 4 * dim
    wants, put = collector.wants, collector.put
    buf = b""
    pos = 0
    for index in range(count):
        space = buf.find(b" ", pos)
        while space < 0:
            if len(buf) - pos > _MAX_WORD_BYTES:
                raise EmbeddingsError(
                    f"entry {index + 1} of {count}: no space after the word within {_MAX_WORD_BYTES} bytes; "
                    "is this really a word2vec binary file?",
                    path,
                )
            more = stream.read(_READ_BYTES)
            if not more:
                raise _truncated(index, count, path)
            scanned = len(buf) - pos
            buf = buf[pos:] + more
            pos = 0
            space = buf.find(b" ", scanned)
        end = space + 1 + nbytes
        if end > len(buf):
            buf = buf[pos:]
            space -= pos
            end -= pos
            pos = 0
            parts = [buf]
            have = len(buf)
            while have < end:
                more = stream.read(max(_READ_BYTES, end - have))
                if not more:
                    raise _truncated(index, count, path)
                parts.append(more)
                have += len(more)
            buf = b"".join(parts)
        raw = buf[pos:space]
        if raw[:1] == b"\n":  # some writers end each vector with a newline; gensim strips it too
            raw = raw.lstrip(b"\n")
        word = _decode(raw, unicode_errors, path, f"entry {index + 1} of {count}")
        if wants(word):
            vector = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
            if not np.isfinite(vector).all():
                raise _not_finite(path, f"entry {index + 1} of {count} ({word!r})")
            put(word, vector)
        pos = end
    collector.file_entries = count


def _read_text(stream: IO[bytes], path: Path, collector: _Collector, unicode_errors: str, has_header: bool) -> None:
    """One pass over a word2vec text file ("N D" header) or a GloVe file (no header).

    A row is a word and ``dim`` numbers separated by spaces. A word2vec row has exactly ``dim + 1``
    fields, as gensim requires. A GloVe vector is the *last* ``dim`` fields, so words containing
    spaces (glove.840B's ". . .") still read right; GloVe's ``dim`` is the number of fields of the
    first row minus one. Blank lines are skipped.
    """
    count: Optional[int] = None
    dim = 0
    entries = 0
    wants, put = collector.wants, collector.put
    # readline(limit), not iteration: a file without newlines must not become one huge bytes object.
    lines = iter(functools.partial(stream.readline, MAX_LINE_BYTES), b"")
    for line_no, line in enumerate(lines, start=1):
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise EmbeddingsError(f"the line is longer than {MAX_LINE_BYTES} bytes; not a text vector file?", path, line_no)
        if line_no == 1:
            line = line[len(_UTF8_BOM) :] if line.startswith(_UTF8_BOM) else line
            if has_header:
                count, dim = _parse_header(line, path)
                _check_header_size(count, dim, path, 2 * dim, len(line))  # a row: at least dim digits and dim spaces
                collector.start(dim)
                continue
        stripped = line.rstrip()
        if not stripped:
            continue
        if not dim:
            dim = len(stripped.split()) - 1
            if dim < 1:
                raise EmbeddingsError("expected a word and its vector, found one field", path, line_no)
            _check_glove_dim(dim, path)
            collector.start(dim)
        if count is not None and entries == count:
            break  # like gensim, read no more rows than the header announces
        entries += 1
        values: Optional[list[bytes]] = None
        if stripped.count(b" ") == dim:  # the common case: single spaces, no space inside the word
            cut = stripped.find(b" ")
            raw = stripped[:cut]
        else:
            fields = stripped.split()
            if len(fields) < dim + 1 or (has_header and len(fields) != dim + 1):
                raise EmbeddingsError(f"expected a word and {dim} numbers, found {len(fields)} fields", path, line_no)
            raw = b" ".join(fields[:-dim])
            values = fields[-dim:]
        word = _decode(raw, unicode_errors, path, f"line {line_no}", line_no)
        if wants(word):
            if values is None:
                values = stripped[cut + 1 :].split()
            put(word, _parse_floats(values, dim, path, line_no))
    if not dim:
        raise EmbeddingsError("empty file; expected word vectors", path)
    if count is not None and entries < count:
        raise EmbeddingsError(f"the header announces {count} vectors but the file ends after {entries}", path, 1)
    collector.file_entries = entries


def _parse_header(line: bytes, path: Path) -> tuple[int, int]:
    header = _header_numbers(line, path)
    if header is None:
        shown = line[:60].decode("utf-8", "replace").strip()
        raise EmbeddingsError(f"expected a word2vec header 'COUNT DIM', found {shown!r}", path, 1)
    _check_header_range(*header, path)
    return header


def _parse_floats(values: list[bytes], dim: int, path: Path, line_no: int) -> np.ndarray:
    if len(values) != dim:
        raise EmbeddingsError(f"expected {dim} numbers, found {len(values)}", path, line_no)
    try:
        vector = np.array(values, dtype=np.float32)
    except ValueError:
        raise EmbeddingsError("the vector holds something that is not a number", path, line_no) from None
    if not np.isfinite(vector).all():
        raise _not_finite(path, None, line_no)
    return vector


def _not_finite(path: Path, where: Optional[str], line_no: Optional[int] = None) -> EmbeddingsError:
    what = "the vector is not finite (nan, inf, or beyond float32's range)"
    return EmbeddingsError(f"{where}: {what}" if where else what, path, line_no)


def _decode(raw: bytes, errors: str, path: Path, where: str, line_no: Optional[int] = None) -> str:
    try:
        return raw.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        raise EmbeddingsError(
            f"{where}: the word {raw!r} is not valid UTF-8 ({exc.reason}); unicode_errors='replace' or 'ignore' reads it anyway",
            path,
            line_no,
        ) from None


def _truncated(index: int, count: int, path: Path) -> EmbeddingsError:
    return EmbeddingsError(f"the file ends inside entry {index + 1} of the {count} its header announces (truncated?)", path)


# --------------------------------------------------------------------------- gensim-loaded formats


def _build_from_gensim(path: Path, fmt: str, collector: _Collector, seed: int) -> PretrainedMatrix:
    """Load a gensim pickle or fastText .bin with gensim, copy out the rows needed, drop gensim's objects."""
    kv = load_gensim_vectors(path, fmt)
    try:
        collector.start(int(kv.vector_size))
        key_to_index = kv.key_to_index
        for form, slot in collector.slots.items():
            index = key_to_index.get(form)
            if index is not None:
                collector.form_rows[slot] = _finite_entry(kv, index, path)
                collector.have[slot] = 1
        if collector.collecting:
            for index, key in enumerate(kv.index_to_key):
                if isinstance(key, str) and key not in collector.present:
                    collector.put(key, _finite_entry(kv, index, path))
                    if not collector.collecting:
                        break
        collector.file_entries = len(kv.index_to_key)
        return collector.assemble(seed, str(path), fmt, ngrams=_ngram_lookup(kv, path))
    finally:
        # "The full KeyedVectors is not kept in memory": every row above was copied out of it.
        del kv
        gc.collect()


def _finite_entry(kv, index: int, path: Path) -> np.ndarray:
    """Row ``index`` of gensim's ``kv``, shape (dim,), checked to be finite."""
    vector = kv.vectors[index]
    if not np.isfinite(vector).all():
        raise _not_finite(path, f"entry {index + 1} ({kv.index_to_key[index]!r})")
    return vector


def load_gensim_vectors(path: PathLike, fmt: str):
    """Load a file gensim must parse (a gensim pickle or a fastText ``.bin``) as gensim KeyedVectors.

    A pickle is loaded as asked, with an :class:`UnsafeFormatWarning` first: call this only for a
    format the user named. A fastText file's header and vocabulary are checked first (see
    :func:`_check_fasttext`). Any failure of gensim's becomes an EmbeddingsError.

    Args:
        path: The vector file.
        fmt: "gensim" or "fasttext" (as :func:`resolve_format` returned it).

    Returns:
        gensim ``KeyedVectors`` (``FastTextKeyedVectors`` for fastText models).

    Raises:
        EmbeddingsError: The file cannot be loaded, or holds no word vectors.
    """
    assert fmt in ("gensim", "fasttext"), fmt
    path = Path(path)
    compressed = path.suffix in _COMPRESSED_SUFFIXES
    if _is_gzip(path) and not compressed:
        raise EmbeddingsError("gzip-compressed gensim and fastText files must have a .gz suffix", path)
    if fmt == "fasttext":
        _check_fasttext(path)
    else:
        warnings.warn(f"{path}: loading a gensim pickle, which can run code; load only files you trust", UnsafeFormatWarning, stacklevel=2)
    try:
        from gensim.models.keyedvectors import KeyedVectors

        if fmt == "fasttext":
            from gensim.models.fasttext import load_facebook_vectors

            return load_facebook_vectors(str(path))
        from gensim.utils import SaveLoad

        # mmap: large arrays saved beside the pickle are mapped, not read (gensim cannot map compressed files).
        loaded = SaveLoad.load(str(path), mmap=None if compressed else "r")
    except EmbeddingsError:
        raise
    except Exception as exc:  # gensim and pickle raise anything on a corrupt file; never show their traceback
        kind = "fastText .bin" if fmt == "fasttext" else "gensim"
        raise EmbeddingsError(f"cannot load as a {kind} file: {type(exc).__name__}: {exc}", path) from None
    if isinstance(loaded, KeyedVectors):
        return loaded
    wv = getattr(loaded, "wv", None)
    if isinstance(wv, KeyedVectors):  # a full Word2Vec/FastText/Doc2Vec model: keep only its word vectors
        return wv
    raise EmbeddingsError(f"the gensim file holds a {type(loaded).__name__}, not word vectors", path)


class _FastTextReader:
    """Sequential little-endian reads from a fastText ``.bin``, each one an EmbeddingsError when the file ends early."""

    def __init__(self, stream: IO[bytes], path: Path):
        self.stream = stream
        self.path = path
        self.position = 0  # bytes consumed so far
        self.buf = b""
        self.pos = 0  # consumed bytes of buf (kept, not sliced off, so passing a word copies nothing)

    def _fill(self, at_least: int, what: str) -> None:
        """Read until ``buf`` holds ``at_least`` unconsumed bytes."""
        while len(self.buf) - self.pos < at_least:
            more = self.stream.read(max(_READ_BYTES, at_least))
            if not more:
                raise EmbeddingsError(f"the fastText file ends inside its {what} (truncated?)", self.path)
            self.buf = self.buf[self.pos :] + more
            self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        self._fill(size, what)
        data = self.buf[self.pos : self.pos + size]
        self.pos += size
        self.position += size
        return data

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))

    def skip_word(self, index: int, count: int) -> None:
        """Pass one vocabulary entry: a NUL-terminated word, an int64 count and an int8 type."""
        what = f"word {index + 1} of the {count} its header announces"
        nul = self.buf.find(b"\0", self.pos)
        while nul < 0:
            if len(self.buf) - self.pos > _MAX_WORD_BYTES:
                raise EmbeddingsError(f"{what} is longer than {_MAX_WORD_BYTES} bytes; not a fastText file?", self.path)
            scanned = len(self.buf) - self.pos
            self._fill(scanned + 1, what)
            nul = self.buf.find(b"\0", self.pos + scanned)
        self.take(nul + 10 - self.pos, what)


def _check_fasttext(path: Path) -> None:
    """Check a Facebook fastText ``.bin``'s header, vocabulary and matrix shape before gensim reads it.

    gensim allocates from these numbers and loops for ever on a file cut inside its vocabulary.
    The layout (fastText's ``args.cc``/``dictionary.cc``/``densematrix.cc``): magic and version
    (int32), 12 int32 options and a float64, then vocabulary size, word count and label count
    (int32), token count and pruned-index size (int64), the words, the pruned index, a quantisation
    flag (int8) and the input matrix: rows and columns (int64) and rows x columns float32.
    """
    size = None if _is_gzip(path) or not path.is_file() else path.stat().st_size
    try:
        with _open_binary(path) as stream:
            reader = _FastTextReader(stream, path)
            reader.take(8, "header")  # magic (checked by detection) and version
            dim, *_, bucket, _minn, _maxn, _lr_update_rate, _t = reader.unpack("<12id", "header")
            if not 1 <= dim <= MAX_DIM:
                raise EmbeddingsError(f"the fastText header gives dimension {dim}; expected 1 to MAX_DIM={MAX_DIM}", path)
            vocab_size, nwords, nlabels = reader.unpack("<3i", "dictionary header")
            _ntokens, pruned = reader.unpack("<2q", "dictionary header")
            if bucket < 0 or not 0 <= nwords <= vocab_size or nlabels != 0:
                raise EmbeddingsError(
                    f"unsupported or corrupt fastText header: {vocab_size} entries, {nwords} words, {nlabels} labels, "
                    f"{bucket} buckets (supervised models, with labels, are not supported)",
                    path,
                )
            _check_room(size, reader.position, vocab_size * 10, f"{vocab_size} vocabulary entries", path)
            for index in range(vocab_size):
                reader.skip_word(index, vocab_size)
            if pruned > 0:
                _check_room(size, reader.position, pruned * 8, f"a pruned index of {pruned} entries", path)
                for _ in range(pruned // (_READ_BYTES // 8)):
                    reader.take(_READ_BYTES, "pruned index")
                reader.take(pruned % (_READ_BYTES // 8) * 8, "pruned index")
            if reader.take(1, "matrix header") != b"\0":
                raise EmbeddingsError("quantised fastText models (.ftz) are not supported", path)
            rows, columns = reader.unpack("<2q", "matrix header")
            if columns != dim or rows != nwords + bucket:
                raise EmbeddingsError(
                    f"the fastText matrix is {rows} x {columns}, but the header's {nwords} words, {bucket} buckets "
                    f"and dimension {dim} make it {nwords + bucket} x {dim}",
                    path,
                )
            _check_room(size, reader.position, rows * columns * 4, f"a {rows} x {columns} float32 matrix", path)
    except (OSError, EOFError, zlib.error) as exc:
        raise EmbeddingsError(f"cannot read the file: {exc}", path) from None


def _check_room(size: Optional[int], position: int, needed: int, what: str, path: Path) -> None:
    """Check that an uncompressed file (``size`` known) holds ``needed`` more bytes after ``position``."""
    if size is not None and needed > size - position:
        raise EmbeddingsError(f"the header announces {what} (at least {needed} bytes), but the file holds {size - position} more", path)


def _ngram_lookup(kv, path: Path) -> Optional[Callable[[str], Optional[np.ndarray]]]:
    """For a fastText model, a function giving a word's character n-gram vector (None without n-grams)."""
    from gensim.models.fasttext import FastTextKeyedVectors, ft_ngram_hashes

    if not isinstance(kv, FastTextKeyedVectors) or not kv.bucket:
        return None

    def ngram_vector(word: str) -> Optional[np.ndarray]:
        if not len(ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket)):
            return None  # gensim would return the zero vector, which is no better than a random row
        vector = np.array(kv.get_vector(word), dtype=np.float32)
        if not np.isfinite(vector).all():
            raise _not_finite(path, f"the character n-grams of {word!r}")
        return vector

    return ngram_vector


# --------------------------------------------------------------------------- reading a file whole: gensim's KeyedVectors


@dataclass(frozen=True)
class VectorsInfo:
    """What ``tagger embeddings info`` (and ``embeddings train``) reports about a vector file.

    Attributes:
        path: The file.
        format: Its format (see ``tagger.embeddings.FORMATS``).
        vocab_size: Words with a vector.
        dim: Vector size.
        subwords: Whether unknown words get vectors from character n-grams (fastText).
        neighbours: For each word asked about, its nearest words and cosine similarities.
    """

    path: str
    format: str
    vocab_size: int
    dim: int
    subwords: bool = False
    neighbours: Dict[str, List[Tuple[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict (neighbours as lists of ``[word, similarity]``)."""
        return {
            "path": self.path,
            "format": self.format,
            "vocab_size": self.vocab_size,
            "dim": self.dim,
            "subwords": self.subwords,
            "neighbours": {w: [[n, round(s, 4)] for n, s in ns] for w, ns in self.neighbours.items()},
        }


def load_vectors(path: PathLike, format: str = "auto", *, limit: Optional[int] = None) -> Tuple[Any, str]:
    """Load a vector file as gensim ``KeyedVectors``, through this module's checks.

    word2vec and GloVe files are read by this module's streaming reader (header numbers
    checked before allocating, rows checked to be finite) and handed to gensim as an array. gensim
    parses fastText ``.bin`` files once their header is checked, and unpickles its own files only
    when ``format="gensim"`` is named (with an ``UnsafeFormatWarning``): never under ``auto``.

    Args:
        path: word2vec binary or text, GloVe text (no header), a Facebook fastText ``.bin``, or a
            gensim KeyedVectors/model file with ``format="gensim"`` (gzip-compressed too).
        format: One of ``FORMATS``; ``auto`` detects it from the content.
        limit: Read only the first ``limit`` distinct words (word2vec and GloVe files).

    Returns:
        ``(keyed_vectors, format)``.

    Raises:
        EmbeddingsError: Missing, unrecognised, malformed or unreadable file; a pickle under ``auto``;
            a vector that is not finite.
        ConfigError: ``format`` is not one of ``FORMATS``.
    """
    fmt = resolve_format(path, format)
    if fmt in ("gensim", "fasttext"):
        kv = load_gensim_vectors(path, fmt)
        _check_finite(kv, str(path))
        return kv, fmt
    matrix = build_matrix(path, [], max_vectors=sys.maxsize if limit is None else limit, format=fmt)

    from gensim.models.keyedvectors import KeyedVectors

    # The attributes gensim's own load_word2vec_format fills, set without copying the matrix again.
    kv = KeyedVectors(vector_size=matrix.dim)
    kv.index_to_key = matrix.words
    kv.key_to_index = {word: index for index, word in enumerate(matrix.words)}
    kv.vectors = matrix.vectors
    kv.next_index = len(matrix.words)
    return kv, fmt


def _check_finite(kv: Any, path: str) -> None:
    """Raise EmbeddingsError naming the first entry of gensim's ``kv`` that is not finite (fastText n-grams too)."""
    bad = np.flatnonzero(~np.isfinite(kv.vectors).all(axis=1))
    if len(bad):
        raise EmbeddingsError(f"entry {bad[0] + 1} ({kv.index_to_key[bad[0]]!r}): the vector is not finite (nan or inf)", path)
    ngrams = getattr(kv, "vectors_ngrams", None)
    if ngrams is not None and not np.isfinite(ngrams).all():
        raise EmbeddingsError("a character n-gram vector is not finite (nan or inf)", path)


def vectors_info(
    path: PathLike,
    words: Sequence[str] = (),
    *,
    topn: int = 10,
    format: str = "auto",
    limit: Optional[int] = None,
) -> VectorsInfo:
    """Describe a vector file: vocabulary size, dimension, and the nearest neighbours of ``words``.

    Args:
        path: The vector file (see :func:`load_vectors`).
        words: Words to list neighbours for.
        topn: Neighbours per word.
        format: The file's format, or ``auto``.
        limit: Read only the first ``limit`` vectors (word2vec and GloVe files).

    Raises:
        EmbeddingsError: The file cannot be read.
        ConfigError: A word has no vector (not in the vocabulary, and no n-grams to build one).
    """
    if topn < 1:
        raise ConfigError(f"topn must be >= 1, got {topn}")
    kv, fmt = load_vectors(path, format, limit=limit)
    subwords = bool(getattr(kv, "bucket", 0))
    return VectorsInfo(str(path), fmt, len(kv), int(kv.vector_size), subwords, nearest_neighbours(kv, words, topn, str(path)))


def nearest_neighbours(kv: Any, words: Sequence[str], topn: int, path: str) -> Dict[str, List[Tuple[str, float]]]:
    """Each of ``words``' ``topn`` nearest words in gensim's ``kv`` with their cosine similarities.

    Raises:
        ConfigError: a word without a vector (fastText vectors have one for any word).
    """
    result = {}
    for word in words:
        if word not in kv:  # fastText vectors answer for any word with character n-grams
            raise ConfigError(f"{word!r} is not in the vocabulary of {path} ({len(kv)} words)")
        result[word] = [(str(w), float(s)) for w, s in kv.most_similar(word, topn=topn)]
    return result


# --------------------------------------------------------------------------- files


def _check_file(path: PathLike) -> Path:
    checked = Path(path)
    if not checked.exists():
        raise EmbeddingsError("no such file", checked)
    if checked.is_dir():
        raise EmbeddingsError("is a directory; expected a word-vector file", checked)
    return checked


def _is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as raw:
            return raw.read(2) == _GZIP_MAGIC
    except OSError as exc:
        raise EmbeddingsError(f"cannot read the file: {exc}", path) from None


def _open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for buffered binary reading, decompressing gzip (known by its magic bytes)."""
    if _is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))  # a binary stream, which typeshed's GzipFile does not declare
    return open(path, "rb", buffering=1 << 20)


def _plain_suffix(path: Path) -> str:
    """The suffix that says what the file holds: ``a.kv.gz`` -> ``.kv``."""
    if path.suffix in _COMPRESSED_SUFFIXES:
        return Path(path.stem).suffix
    return path.suffix


def _is_count(value: object) -> bool:
    """Whether ``value`` is an integer (numpy's too), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_vocab(vocab_words: Sequence[str]) -> list[str]:
    vocab = list(vocab_words)
    seen: set[str] = set()
    for word in vocab:
        if not isinstance(word, str):
            raise ValueError(f"vocab_words must be strings, got {word!r}")
        if word in seen:
            raise ValueError(f"vocab_words holds {word!r} twice; a vocabulary lists each word once")
        seen.add(word)
    return vocab
