"""Pretrained word vectors: detect a vector file's format and build the embedding matrix for a vocabulary.

The toolkit's only gensim importer. Supported files: word2vec binary and text (``GoogleNews-vectors-
negative300.bin``, fastText ``.vec``), GloVe text without a header line (``glove.6B.100d.txt``),
gensim's own saved ``KeyedVectors``/``Word2Vec``/``FastText`` files and Facebook fastText ``.bin``
models (``cc.en.300.bin``), any of them gzip-compressed too.

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
import gc
import gzip
import math
import numbers
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from tagger.errors import ConfigError, EmbeddingsError
from tagger.wordforms import lookup_forms

FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove", "gensim", "fasttext")

PAD = "<pad>"  # its row is all zeros and it is never looked up in a file
UNK = "<unk>"  # its row is random and it is never looked up in a file
RESERVED = (PAD, UNK)

FASTTEXT_MAGIC = 793712314  # little-endian int32 at offset 0 of a Facebook fastText .bin
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_NATIVE_SUFFIXES = (".kv", ".model", ".wv")
_COMPRESSED_SUFFIXES = (".gz", ".bz2")
_SNIFF_BYTES = 1 << 20  # enough for the header and a whole first text row of any sane width
_READ_BYTES = 1 << 22  # binary reads; large reads bypass the buffered reader's copy
_MAX_WORD_BYTES = 1 << 20  # a "word" longer than this means the file is not word2vec binary
_CHUNK_BYTES = 64 << 20  # above glibc's mmap threshold, so a freed chunk goes back to the OS at once

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
    """Tell a vector file's format from its content (and, for gensim pickles, its extension).

    Args:
        path: The vector file; gzip-compressed files are looked into.

    Returns:
        One of "fasttext", "gensim", "word2vec-binary", "word2vec-text", "glove".

    Raises:
        EmbeddingsError: The file is missing, unreadable, empty or in none of these formats.
    """
    path = _check_file(path)
    detected = _sniff(path)
    if detected is None:
        raise EmbeddingsError(
            "unrecognised word-vector format (expected word2vec binary or text, GloVe text, "
            "a gensim KeyedVectors/model file or a fastText .bin)",
            path,
        )
    return detected


def _sniff(path: Path) -> Optional[str]:
    """The format of ``path`` judged from its first megabyte, or None when it fits none."""
    head = _read_head(path)
    if not head:
        raise EmbeddingsError("empty file; expected word vectors", path)
    if len(head) >= 4 and int.from_bytes(head[:4], "little", signed=True) == FASTTEXT_MAGIC:
        return "fasttext"
    if _plain_suffix(path) in _NATIVE_SUFFIXES or head[0] == 0x80:  # 0x80: pickle protocol >= 2
        return "gensim"
    ended = len(head) < _SNIFF_BYTES  # the whole file is in `head`
    head = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    first, rest = _split_line(head, ended)
    if first is None:
        return None
    header = _header_numbers(first)
    if header is not None:
        if not rest.strip():  # the file ends after its header: the suffix is all there is to go by
            return "word2vec-binary" if _plain_suffix(path) == ".bin" else "word2vec-text"
        second, _ = _split_line(rest, ended)
        if second is None:  # no newline within a megabyte: not a text row
            return "word2vec-binary"
        return "word2vec-text" if _is_text_row(second, header[1]) else "word2vec-binary"
    fields = first.split()
    if len(fields) >= 2 and _is_text_row(first, len(fields) - 1):
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


def _header_numbers(line: bytes) -> Optional[tuple[int, int]]:
    """(count, dim) when ``line`` is a word2vec header "N D", else None."""
    fields = line.split()
    if len(fields) == 2 and all(f.isdigit() for f in fields) and int(fields[1]) > 0:
        return int(fields[0]), int(fields[1])
    return None


def _is_text_row(line: bytes, dim: int) -> bool:
    """Whether ``line`` reads as a word followed by ``dim`` numbers."""
    try:
        fields = line.decode("utf-8").split()
    except UnicodeDecodeError:
        return False
    if len(fields) < dim + 1:
        return False
    try:
        np.array(fields[-dim:], dtype=np.float32)
    except ValueError:
        return False
    return True


def _confirm_format(path: Path, fmt: str) -> str:
    """Accept an explicit format unless the content clearly says otherwise."""
    detected = _sniff(path)
    if detected is None or detected == fmt:
        return fmt
    raise EmbeddingsError(f"format {fmt!r} was given, but the file looks like {detected!r}", path)


# --------------------------------------------------------------------------- public builders


def build_matrix(
    path: PathLike,
    vocab_words: Sequence[str],
    *,
    extra_words: Iterable[str] = (),
    max_vectors: Optional[int] = None,
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

    Extra rows follow the vocabulary. With ``max_vectors=None``: one per distinct ``extra_words``
    word (first-seen order) that is not in the vocabulary and that the file gives a vector for by
    the same lookup; the row keeps the word as asked. With ``max_vectors=N``: instead the first N
    words of the file (files list frequent words first) not already among the rows, in the file's
    form; ``extra_words`` is then ignored. Words appearing twice in a file keep their first vector.

    Args:
        path: The vector file (see the module docstring for formats; ``.gz`` works too).
        vocab_words: The training vocabulary, distinct strings, reserved tokens first if any.
        extra_words: Words of the dev/test files, to give rows when the file knows them.
        max_vectors: Add the file's first N new words instead of ``extra_words``.
        format: One of ``FORMATS``; "auto" detects it (see :func:`detect_format`).
        seed: Seed of the random rows.
        unicode_errors: How to decode words that are not valid UTF-8 (``str.decode``'s ``errors``);
            gensim's default "strict" makes such a word an error naming the entry.

    Returns:
        The matrix, its words and per-row provenance.

    Raises:
        EmbeddingsError: The file is missing, unreadable, truncated or malformed.
        ConfigError: ``format`` or ``max_vectors`` is not a valid option.
        ValueError: ``vocab_words`` holds a duplicate or a non-string.
    """
    vocab = _check_vocab(vocab_words)
    try:
        codecs.lookup_error(unicode_errors)
    except LookupError:
        raise ConfigError(f"unknown unicode_errors handler {unicode_errors!r}") from None
    if format not in FORMATS:
        raise ConfigError(f"unknown embeddings format {format!r}; expected one of {', '.join(FORMATS)}")
    if max_vectors is not None:
        if not _is_count(max_vectors) or max_vectors < 0:
            raise ConfigError(f"max_vectors must be None or an integer >= 0, got {max_vectors!r}")
        max_vectors = int(max_vectors)
    checked = _check_file(path)
    fmt = detect_format(checked) if format == "auto" else _confirm_format(checked, format)
    collector = _Collector(vocab, () if max_vectors is not None else extra_words, max_vectors)
    if fmt in ("gensim", "fasttext"):
        return _build_from_gensim(checked, fmt, collector, seed)
    try:
        with _open_binary(checked) as stream:
            if fmt == "word2vec-binary":
                _read_word2vec_binary(stream, checked, collector, unicode_errors)
            else:
                _read_text(stream, checked, collector, unicode_errors, has_header=fmt == "word2vec-text")
    except (OSError, EOFError, zlib.error) as exc:
        raise EmbeddingsError(f"cannot read the file: {exc}", checked) from None
    return collector.assemble(seed, str(path), fmt)


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
    collector = _Collector(vocab, (), None)
    collector.start(int(dim))
    return collector.assemble(seed, "", "random")


# --------------------------------------------------------------------------- collecting rows


class _RowStore:
    """An append-only float32 row list in large chunks, drained into the final matrix chunk by chunk."""

    def __init__(self, dim: int):
        self.dim = dim
        self.rows_per_chunk = max(1, _CHUNK_BYTES // (4 * dim))
        self.chunks: list[np.ndarray] = []
        self.size = 0

    def append(self, vector: np.ndarray) -> None:
        offset = self.size % self.rows_per_chunk
        if offset == 0:
            # np.empty: the pages of a chunk count in RSS only once rows are written to them
            self.chunks.append(np.empty((self.rows_per_chunk, self.dim), dtype=np.float32))
        self.chunks[-1][offset] = vector
        self.size += 1

    def drain_into(self, out: np.ndarray) -> None:
        """Copy every row into ``out`` (shape (size, dim)), freeing each chunk once copied."""
        assert out.shape == (self.size, self.dim)
        start = 0
        while self.chunks:
            chunk = self.chunks.pop(0)
            rows = min(self.rows_per_chunk, self.size - start)
            out[start : start + rows] = chunk[:rows]
            start += rows
            del chunk
        self.size = 0


class _Collector:
    """What one pass over a vector file must keep, and the matrix assembled from it afterwards.

    The file is offered its words in order; the collector keeps the vector of every lookup form of
    a wanted word (first occurrence only) and, under ``max_vectors``, the first new file words.
    Which form wins is decided only at the end, since a lowercase form may come before the exact one.
    """

    def __init__(self, vocab: list[str], extra_words: Iterable[str], max_vectors: Optional[int]):
        self.vocab = vocab
        self.max_vectors = max_vectors
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
        self.present = present  # exact row words, for max_vectors
        self.collecting = bool(max_vectors)
        self.added_words: list[str] = []
        self.file_entries = 0
        self.dim = 0

    def start(self, dim: int) -> None:
        """Allocate the buffers once the file's vector size is known."""
        self.dim = dim
        self.form_rows = np.empty((len(self.slots), dim), dtype=np.float32)
        self.have = bytearray(len(self.slots))
        self.added = _RowStore(dim)

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
            if len(self.added_words) >= self.max_vectors:
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
        dim = self.dim
        stats = {k: 0 for k in ("exact", "lower", "digits", "ngrams", "random", "reserved", "extra")}
        stats["file_vocab"] = self.file_entries
        extra_words: list[str] = []
        extra_rows: list[np.ndarray] = []
        if self.max_vectors is None:
            for word in self.extra:
                _, vector = self._lookup(word, ngrams)
                if vector is not None:
                    extra_words.append(word)
                    extra_rows.append(vector)
        else:
            extra_words = self.added_words
        n_vocab = len(self.vocab)
        n_rows = n_vocab + len(extra_words)
        vectors = np.empty((n_rows, dim), dtype=np.float32)  # shape: (n_rows, dim)
        found = np.zeros(n_rows, dtype=bool)
        _fill_random(vectors[:n_vocab], seed)
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
        if self.max_vectors is None:
            for offset, vector in enumerate(extra_rows):
                vectors[n_vocab + offset] = vector
            del extra_rows
        # Every lookup is done: free the form rows (and drop the last view into them) before the
        # added rows are copied over.
        vector = None
        del self.form_rows
        if self.max_vectors is not None:
            self.added.drain_into(vectors[n_vocab:])
        found[n_vocab:] = True
        stats["extra"] = len(extra_words)
        return PretrainedMatrix(
            words=list(self.vocab) + list(extra_words),
            vectors=vectors,
            found=found,
            dim=dim,
            source=source,
            format=fmt,
            stats=stats,
        )


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
    count, dim = _parse_header(stream.readline(4096), path)
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
            put(word, np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1))
        pos = end
    collector.file_entries = count


def _read_text(stream: IO[bytes], path: Path, collector: _Collector, unicode_errors: str, has_header: bool) -> None:
    """One pass over a word2vec text file ("N D" header) or a GloVe file (no header).

    A row is a word and ``dim`` numbers separated by spaces. The vector is the *last* ``dim``
    fields, so words containing spaces (glove.840B's ". . .") still read right; GloVe's ``dim``
    is the number of fields of the first row minus one. Blank lines are skipped.
    """
    count: Optional[int] = None
    dim = 0
    entries = 0
    wants, put = collector.wants, collector.put
    for line_no, line in enumerate(stream, start=1):
        if line_no == 1:
            line = line[len(_UTF8_BOM) :] if line.startswith(_UTF8_BOM) else line
            if has_header:
                count, dim = _parse_header(line, path)
                collector.start(dim)
                continue
        stripped = line.rstrip()
        if not stripped:
            continue
        if not dim:
            dim = len(stripped.split()) - 1
            if dim < 1:
                raise EmbeddingsError("expected a word and its vector, found one field", path, line_no)
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
            if len(fields) < dim + 1:
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
        raise EmbeddingsError(f"the header announces {count} vectors but the file ends after {entries}", path)
    collector.file_entries = entries


def _parse_header(line: bytes, path: Path) -> tuple[int, int]:
    header = _header_numbers(line)
    if header is None:
        shown = line[:60].decode("utf-8", "replace").strip()
        raise EmbeddingsError(f"expected a word2vec header 'COUNT DIM', found {shown!r}", path, 1)
    return header


def _parse_floats(values: list[bytes], dim: int, path: Path, line_no: int) -> np.ndarray:
    if len(values) != dim:
        raise EmbeddingsError(f"expected {dim} numbers, found {len(values)}", path, line_no)
    try:
        return np.array(values, dtype=np.float32)
    except ValueError:
        raise EmbeddingsError("the vector holds something that is not a number", path, line_no) from None


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
    kv = _load_keyed_vectors(path, fmt)
    try:
        collector.start(int(kv.vector_size))
        key_to_index = kv.key_to_index
        for form, slot in collector.slots.items():
            index = key_to_index.get(form)
            if index is not None:
                collector.form_rows[slot] = kv.vectors[index]
                collector.have[slot] = 1
        if collector.collecting:
            for index, key in enumerate(kv.index_to_key):
                if isinstance(key, str) and key not in collector.present:
                    collector.put(key, kv.vectors[index])
                    if not collector.collecting:
                        break
        collector.file_entries = len(kv.index_to_key)
        return collector.assemble(seed, str(path), fmt, ngrams=_ngram_lookup(kv))
    finally:
        # "The full KeyedVectors is not kept in memory": every row above was copied out of it.
        del kv
        gc.collect()


def _load_keyed_vectors(path: Path, fmt: str):
    """Load ``path`` as gensim KeyedVectors (or FastTextKeyedVectors); any failure becomes EmbeddingsError."""
    compressed = path.suffix in _COMPRESSED_SUFFIXES
    if _is_gzip(path) and not compressed:
        raise EmbeddingsError("gzip-compressed gensim and fastText files must have a .gz suffix", path)
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


def _ngram_lookup(kv) -> Optional[Callable[[str], Optional[np.ndarray]]]:
    """For a fastText model, a function giving a word's character n-gram vector (None without n-grams)."""
    from gensim.models.fasttext import FastTextKeyedVectors, ft_ngram_hashes

    if not isinstance(kv, FastTextKeyedVectors) or not kv.bucket:
        return None

    def ngram_vector(word: str) -> Optional[np.ndarray]:
        if not len(ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket)):
            return None  # gensim would return the zero vector, which is no better than a random row
        return np.array(kv.get_vector(word), dtype=np.float32)

    return ngram_vector


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
        return gzip.open(path, "rb")
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
