"""Train word vectors with gensim (Word2Vec CBOW/skip-gram or FastText) and describe a vector file.

The library twin of ``tagger embeddings train`` and ``tagger embeddings info``. Training reads a
raw-text corpus (one sentence per line, tokens separated by whitespace) or a CoNLL/CoNLL-U file
(its token column), and writes a file ``tagger train --embeddings`` reads: word2vec vectors as
word2vec binary, FastText as a Facebook ``.bin`` model (which keeps the character n-grams, so
words outside the vocabulary still get vectors). gensim is imported only inside the functions.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from tagger.errors import ConfigError, EmbeddingsError
from tagger.files import atomic_path

ALGORITHMS = ("word2vec", "fasttext")
ARCHITECTURES = ("cbow", "skipgram")
CORPUS_FORMATS = ("auto", "text", "conll", "conllu")

PathLike = Union[str, "os.PathLike[str]"]

_SNIFF_LINES = 200
_MAX_COLUMNS = 20  # a "column file" with more fields per row is taken for running text


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


# --------------------------------------------------------------------------------- corpus


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
    from corpora.columns import check_file
    from corpora.detect import detect_format

    name = check_file(path)
    if detect_format(name) == "conllu":
        return "conllu"
    counts = set()
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
    """

    def __init__(self, path: PathLike, format: str = "auto", *, lowercase: bool = False):
        from corpora.columns import check_file

        if format not in CORPUS_FORMATS:
            raise ConfigError(f"corpus format must be one of {', '.join(CORPUS_FORMATS)}, got {format!r}")
        self.path = check_file(path)
        self.format = detect_corpus_format(self.path) if format == "auto" else format
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[List[str]]:
        if self.format == "text":
            tokens_of = self._text_sentences()
        else:
            from corpora.detect import read_sentences

            tokens_of = (sentence.tokens for sentence in read_sentences(self.path, self.format))
        for tokens in tokens_of:
            yield [t.lower() for t in tokens] if self.lowercase else list(tokens)

    def _text_sentences(self) -> Iterator[List[str]]:
        from corpora.columns import decode_error

        with open(self.path, encoding="utf-8-sig", newline=None) as handle:
            try:
                for line in handle:
                    tokens = line.split()
                    if tokens:
                        yield tokens
            except UnicodeDecodeError as exc:
                raise decode_error(self.path, exc) from None


# --------------------------------------------------------------------------------- training


def train_vectors(
    corpus: PathLike,
    out: PathLike,
    *,
    algorithm: str = "word2vec",
    architecture: str = "cbow",
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    epochs: int = 5,
    workers: Optional[int] = None,
    seed: int = 42,
    format: str = "auto",
    lowercase: bool = False,
    buckets: Optional[int] = None,
    force: bool = False,
    neighbours_of: Sequence[str] = (),
    topn: int = 10,
) -> VectorsInfo:
    """Train word vectors on a corpus with gensim and write them atomically.

    Args:
        corpus: Raw text (one sentence per line) or a CoNLL/CoNLL-U file.
        out: The vector file to write: word2vec binary for ``word2vec``, a Facebook fastText
            ``.bin`` for ``fasttext``.
        algorithm: ``word2vec`` or ``fasttext``.
        architecture: ``cbow`` or ``skipgram``.
        dim: Vector size.
        window: Context words on each side.
        min_count: Ignore words seen fewer times.
        epochs: Passes over the corpus.
        workers: Training threads (default: up to 4); use 1 for bit-identical vectors across runs.
        seed: Random seed.
        format: Corpus format: ``auto``, ``text``, ``conll`` or ``conllu``.
        lowercase: Lowercase the corpus first.
        buckets: fastText only: hash buckets for the character n-grams (default gensim's
            2,000,000; the file holds ``buckets x dim`` floats, 800 MB at 100d).
        force: Replace an existing ``out``.
        neighbours_of: Words whose nearest neighbours the returned info lists.
        topn: Neighbours per word.

    Returns:
        The written file's description.

    Raises:
        ConfigError: Bad option, ``out`` exists without ``force``, or an empty vocabulary.
        CorpusFormatError: The corpus cannot be read.
    """
    _check_choice("algorithm", algorithm, ALGORITHMS)
    _check_choice("architecture", architecture, ARCHITECTURES)
    for name, value in (("dim", dim), ("window", window), ("min_count", min_count), ("epochs", epochs)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if buckets is not None and (algorithm != "fasttext" or buckets < 1):
        raise ConfigError(f"buckets applies to fasttext and must be >= 1, got {buckets} for {algorithm}")
    out_path = Path(out)
    if out_path.is_dir():
        raise ConfigError("is a directory; --out names the vector file to write", out_path)
    if out_path.exists() and not force:
        raise ConfigError("already exists; pass --force (force=True) to replace it", out_path)
    if not out_path.parent.is_dir():
        raise ConfigError("parent directory does not exist", out_path.parent)
    sentences = CorpusSentences(corpus, format, lowercase=lowercase)

    from gensim.models import FastText, Word2Vec

    options: Dict[str, Any] = {} if buckets is None else {"bucket": buckets}
    model_class = FastText if algorithm == "fasttext" else Word2Vec
    model = model_class(
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=1 if architecture == "skipgram" else 0,
        workers=workers or min(4, os.cpu_count() or 1),
        seed=seed,
        **options,
    )
    model.build_vocab(corpus_iterable=sentences)
    if not len(model.wv):
        raise ConfigError(f"no word occurs min_count={min_count} times in the corpus; lower --min-count", corpus)
    model.train(corpus_iterable=sentences, total_examples=model.corpus_count, epochs=epochs)

    with atomic_path(out_path) as tmp:
        if algorithm == "fasttext":
            from gensim.models.fasttext import save_facebook_model

            save_facebook_model(model, str(tmp))
        else:
            model.wv.save_word2vec_format(str(tmp), binary=True)
    fmt = "fasttext" if algorithm == "fasttext" else "word2vec-binary"
    return VectorsInfo(
        str(out_path),
        fmt,
        len(model.wv),
        int(model.wv.vector_size),
        algorithm == "fasttext",
        _neighbours(model.wv, neighbours_of, topn, str(out_path)),
    )


# --------------------------------------------------------------------------------- reading


def load_vectors(path: PathLike, format: str = "auto", *, limit: Optional[int] = None) -> Tuple[Any, str]:
    """Load a vector file as gensim ``KeyedVectors``, through ``tagger.embeddings``'s checks.

    word2vec and GloVe files are read by ``tagger.embeddings``'s streaming reader (header numbers
    checked before allocating, rows checked to be finite) and handed to gensim as an array. gensim
    parses fastText ``.bin`` files once their header is checked, and unpickles its own files only
    when ``format="gensim"`` is named (with an ``UnsafeFormatWarning``): never under ``auto``.

    Args:
        path: word2vec binary or text, GloVe text (no header), a Facebook fastText ``.bin``, or a
            gensim KeyedVectors/model file with ``format="gensim"`` (gzip-compressed too).
        format: One of ``tagger.embeddings.FORMATS``; ``auto`` detects it from the content.
        limit: Read only the first ``limit`` distinct words (word2vec and GloVe files).

    Returns:
        ``(keyed_vectors, format)``.

    Raises:
        EmbeddingsError: Missing, unrecognised, malformed or unreadable file; a pickle under ``auto``;
            a vector that is not finite.
        ConfigError: ``format`` is not one of ``tagger.embeddings.FORMATS``.
    """
    from tagger.embeddings import build_matrix, load_gensim_vectors, resolve_format

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
    import numpy as np

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
    return VectorsInfo(str(path), fmt, len(kv), int(kv.vector_size), subwords, _neighbours(kv, words, topn, str(path)))


def _neighbours(kv: Any, words: Sequence[str], topn: int, path: str) -> Dict[str, List[Tuple[str, float]]]:
    result = {}
    for word in words:
        if word not in kv:  # fastText vectors answer for any word with character n-grams
            raise ConfigError(f"{word!r} is not in the vocabulary of {path} ({len(kv)} words)")
        result[word] = [(str(w), float(s)) for w, s in kv.most_similar(word, topn=topn)]
    return result


def _check_choice(option: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
