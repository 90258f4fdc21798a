"""Property-based fuzzing of the word-vector readers: every file gives a correct matrix or a TaggerError.

word2vec text and binary, GloVe and fastText ``.bin`` files (plain and gzip-compressed) go through
``detect_format`` and ``build_matrix``: intact files must give exactly their vectors; random bytes,
truncations, flipped bytes and huge header numbers must give a matrix or a ``TaggerError``, never
another exception, never a hang, and never an allocation beyond a bound (tracemalloc counts NumPy's).
"""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path
from typing import Optional

import gensim.models.fasttext  # noqa: F401  imported here, so importing it is not measured as an allocation
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.embeddings import FORMATS, RESERVED, PretrainedMatrix, build_matrix, detect_format, vectors_info
from tagger.errors import TaggerError
from tests.fuzz.limits import time_limit

PEAK_BOUND = 16 << 20  # the sniffing megabyte, one read buffer and one line: nothing sized by a header
TIME_BOUND_S = 10  # per example; a hang fails the test instead of stalling it
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
QUICK = settings(max_examples=40, **SETTINGS)
LONG = settings(max_examples=1500, **SETTINGS)

# Words as tokenisers produce them: any characters but ASCII whitespace (the separator) and surrogates.
WORDS = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x0b\x0c"),
    min_size=1,
    max_size=8,
).filter(lambda w: w not in RESERVED)
VALUES = st.floats(width=32, allow_nan=False, allow_infinity=False)
HUGE = st.integers(min_value=0, max_value=10**40)


@st.composite
def vector_sets(draw: st.DrawFn) -> tuple[list[str], np.ndarray]:
    dim = draw(st.integers(1, 6))
    words = draw(st.lists(WORDS, min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(VALUES, min_size=dim, max_size=dim), min_size=len(words), max_size=len(words)))
    return words, np.array(rows, dtype=np.float32).reshape(len(words), dim)


def encode(fmt: str, words: list[str], vectors: np.ndarray, count: Optional[int] = None, dim: Optional[int] = None) -> bytes:
    """The file ``fmt`` holding ``words``/``vectors``; ``count``/``dim`` replace the header's numbers."""
    header = f"{len(words) if count is None else count} {vectors.shape[1] if dim is None else dim}\n".encode()
    if fmt == "word2vec-binary":
        return header + b"".join(w.encode() + b" " + v.astype("<f4").tobytes() for w, v in zip(words, vectors))
    rows = b"".join((w + " " + " ".join(repr(float(x)) for x in v) + "\n").encode() for w, v in zip(words, vectors))
    return rows if fmt == "glove" else header + rows


def read(path: Path, vocab: list[str], max_vectors: Optional[int] = None) -> Optional[PretrainedMatrix]:
    """detect_format, build_matrix and vectors_info on ``path``: the matrix, or None after a TaggerError; bounded in time and memory."""
    tracemalloc.start()
    try:
        with time_limit(TIME_BOUND_S):
            try:
                detected = detect_format(path)
                assert detected in FORMATS and detected not in ("auto", "gensim"), detected
            except TaggerError:
                pass
            try:
                matrix = build_matrix(path, vocab, max_vectors=max_vectors)
            except TaggerError as exc:
                assert str(exc).startswith(str(path)) and "\n" not in str(exc), str(exc)
                matrix = None
            try:  # tagger embeddings info: the same reader, every row kept, handed to gensim
                info = vectors_info(path)
                assert matrix is None or info.dim == matrix.dim
            except TaggerError as exc:
                assert "\n" not in str(exc), str(exc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BOUND, f"{peak} bytes allocated"
    if matrix is not None:
        assert matrix.vectors.dtype == np.float32 and matrix.vectors.shape == (len(matrix.words), matrix.dim)
        assert matrix.words[: len(vocab)] == vocab and np.isfinite(matrix.vectors).all()
        assert len(matrix.words) - len(vocab) <= (max_vectors or 0)
    return matrix


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-vectors")


@pytest.fixture(scope="module")
def fasttext_bytes() -> bytes:
    """A tiny Facebook fastText .bin written by gensim (13 words, 8 dimensions, 50 buckets)."""
    import tempfile

    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "cat", "sat", "on", "a", "mat"], ["Paris", "is", "in", "France", "é", "naïve", "x"]] * 3
    model = FastText(sentences, vector_size=8, min_count=1, epochs=1, bucket=50, min_n=2, max_n=3, workers=1, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ft.bin"
        save_facebook_model(model, str(path))
        return path.read_bytes()


# --------------------------------------------------------------------------- intact files: exact vectors


def check_intact(workdir: Path, fmt: str, data: tuple[list[str], np.ndarray], compress: bool, extra: list[str]) -> None:
    words, vectors = data
    path = workdir / ("intact.gz" if compress else "intact")
    content = encode(fmt, words, vectors)
    path.write_bytes(gzip.compress(content) if compress else content)
    vocab = list(dict.fromkeys(words + extra))
    matrix = read(path, vocab)
    if fmt == "glove" and not words:
        assert matrix is None  # an empty GloVe file is an empty file
        return
    assert matrix is not None and matrix.dim == vectors.shape[1]
    first = {}
    for word, vector in zip(words, vectors):
        first.setdefault(word, vector)
    for row, word in enumerate(vocab):
        if word in first:
            assert matrix.found[row] and np.array_equal(matrix.vectors[row], first[word]), word


@QUICK
@given(st.sampled_from(["word2vec-binary", "word2vec-text", "glove"]), vector_sets(), st.booleans(), st.lists(WORDS, max_size=3))
def test_intact_files_give_their_vectors(workdir: Path, fmt: str, data, compress: bool, extra: list[str]) -> None:
    check_intact(workdir, fmt, data, compress, extra)


# --------------------------------------------------------------------------- hostile files: matrix or TaggerError


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    """Random bytes, or a valid file cut, flipped, or given huge header numbers; maybe gzip-compressed."""
    kind = draw(st.sampled_from(["random", "cut", "flip", "header"]))
    if kind == "random":
        prefix = draw(st.sampled_from([b"", b"3 2\n", b"\x80\x04", b"\x1f\x8b", (793712314).to_bytes(4, "little")]))
        content = prefix + draw(st.binary(max_size=400))
    else:
        fmt = draw(st.sampled_from(["word2vec-binary", "word2vec-text", "glove"]))
        words, vectors = draw(vector_sets())
        if kind == "header" and fmt != "glove":
            count = draw(st.one_of(st.none(), HUGE))
            dim = draw(st.one_of(st.none(), HUGE, st.integers(-5, 0)))
            content = encode(fmt, words, vectors, count, dim)
        else:
            content = encode(fmt, words, vectors)
        if kind == "cut" and content:
            content = content[: draw(st.integers(0, len(content) - 1))]
        elif kind == "flip" and content:
            at = draw(st.integers(0, len(content) - 1))
            content = content[:at] + bytes([draw(st.integers(0, 255))]) + content[at + 1 :]
    return gzip.compress(content) if draw(st.booleans()) else content


@QUICK
@given(hostile_files(), st.lists(WORDS, max_size=4, unique=True), st.one_of(st.none(), st.integers(0, 20)))
def test_hostile_files_give_a_matrix_or_a_tagger_error(workdir: Path, content: bytes, vocab: list[str], max_vectors) -> None:
    path = workdir / "hostile.txt"
    path.write_bytes(content)
    read(path, vocab, max_vectors)


@QUICK
@given(st.data())
def test_hostile_fasttext_files(workdir: Path, fasttext_bytes: bytes, data: st.DataObject) -> None:
    content = bytearray(fasttext_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        if len(content) < 80:
            break
        kind = data.draw(st.sampled_from(["cut", "flip", "int32"]))
        if kind == "cut":
            del content[data.draw(st.integers(4, len(content) - 1)) :]
        elif kind == "flip":
            content[data.draw(st.integers(4, len(content) - 1))] = data.draw(st.integers(0, 255))
        else:  # a header or dictionary number (offsets 8 to 76) made hostile
            at = data.draw(st.sampled_from(range(8, 77, 4)))
            number = data.draw(st.sampled_from([-(2**31), -1, 0, 2**31 - 1, 1 << 20]))
            content[at : at + 4] = number.to_bytes(4, "little", signed=True)
    path = workdir / "ft.bin"
    path.write_bytes(bytes(content))
    read(path, ["cat", "Paris", "zzz"])


# --------------------------------------------------------------------------- the long run


@pytest.mark.slow
@LONG
@given(hostile_files(), st.lists(WORDS, max_size=4, unique=True), st.one_of(st.none(), st.integers(0, 20)))
def test_hostile_files_long_run(workdir: Path, content: bytes, vocab: list[str], max_vectors) -> None:
    path = workdir / "hostile-long.bin"
    path.write_bytes(content)
    read(path, vocab, max_vectors)


@pytest.mark.slow
@LONG
@given(st.sampled_from(["word2vec-binary", "word2vec-text", "glove"]), vector_sets(), st.booleans(), st.lists(WORDS, max_size=3))
def test_intact_files_long_run(workdir: Path, fmt: str, data, compress: bool, extra: list[str]) -> None:
    check_intact(workdir, fmt, data, compress, extra)


@pytest.mark.slow
@settings(max_examples=400, **SETTINGS)
@given(st.data())
def test_hostile_fasttext_files_long_run(workdir: Path, fasttext_bytes: bytes, data: st.DataObject) -> None:
    test_hostile_fasttext_files.hypothesis.inner_test(workdir, fasttext_bytes, data)
