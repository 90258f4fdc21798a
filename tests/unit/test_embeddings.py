"""Tests for tagger.embeddings: format detection, streaming readers checked against gensim, lookup and errors."""

from __future__ import annotations

import gc
import gzip
import math
import pickle
import shutil
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

from tagger.embeddings import FORMATS, PretrainedMatrix, UnsafeFormatWarning, build_matrix, detect_format, random_matrix
from tagger.errors import ConfigError, EmbeddingsError

DIM = 6
# File order matters: lowercase and digit forms come *before* the exact forms some tests ask for.
FILE_WORDS = ["the", "paris", "Paris", "year0000", "naïve", "00", "<unk>", "berlin", "x"] + [f"w{i}" for i in range(20)]


@pytest.fixture
def reference() -> KeyedVectors:
    """A small gensim KeyedVectors with varied magnitudes (so text round trips are not trivial)."""
    rng = np.random.default_rng(7)
    kv = KeyedVectors(vector_size=DIM)
    vectors = (rng.standard_normal((len(FILE_WORDS), DIM)) * np.logspace(-3, 2, DIM)).astype(np.float32)
    kv.add_vectors(FILE_WORDS, vectors)
    return kv


@pytest.fixture
def files(tmp_path: Path, reference: KeyedVectors) -> dict[str, Path]:
    """The reference vectors written by gensim in every streamed format, plus gensim's own pickle."""
    paths = {
        "word2vec-binary": tmp_path / "vectors.bin",
        "word2vec-text": tmp_path / "vectors.txt",
        "glove": tmp_path / "glove.txt",
        "gensim": tmp_path / "vectors.kv",
    }
    reference.save_word2vec_format(str(paths["word2vec-binary"]), binary=True)
    reference.save_word2vec_format(str(paths["word2vec-text"]), binary=False)
    reference.save_word2vec_format(str(paths["glove"]), binary=False, write_header=False)
    reference.save(str(paths["gensim"]))
    return paths


def gensim_load(path: Path, fmt: str, **kwargs) -> KeyedVectors:
    """What gensim itself reads from ``path``: the reference for the streaming readers."""
    if fmt == "gensim":
        return KeyedVectors.load(str(path))
    with warnings.catch_warnings():
        # gensim's no_header reader reopens the file and never closes the second handle (gensim 4.4).
        warnings.simplefilter("ignore", ResourceWarning)
        return KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove", **kwargs)


def build(path: Path, words: list[str], fmt: str, **kwargs) -> PretrainedMatrix:
    """build_matrix with format auto, but gensim pickles named explicitly (with the warning that brings)."""
    if fmt != "gensim":
        return build_matrix(path, words, **kwargs)
    with pytest.warns(UnsafeFormatWarning):
        return build_matrix(path, words, format="gensim", **kwargs)


def live_keyed_vectors() -> list[object]:
    """Every KeyedVectors still alive (``type()``, not ``isinstance``: some objects' ``__class__`` warns)."""
    gc.collect()
    return [obj for obj in gc.get_objects() if issubclass(type(obj), KeyedVectors)]


def gzipped(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


@pytest.fixture(scope="module")
def fasttext_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fastText model trained by gensim and saved in Facebook's .bin format."""
    sentences = [
        ["the", "cat", "sat", "on", "the", "mat"],
        ["Paris", "is", "in", "France"],
        ["the", "year", "1999", "was", "long"],
    ] * 4
    model = FastText(sentences, vector_size=8, min_count=1, epochs=2, bucket=500, min_n=2, max_n=4, workers=1, seed=3)
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    model.save(str(path.with_suffix(".model")))  # gensim's own pickle of the same model
    return path


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text", "glove"])
def test_detect_format(files: dict[str, Path], fmt: str) -> None:
    assert detect_format(files[fmt]) == fmt
    assert detect_format(str(files[fmt])) == fmt


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text", "glove"])
def test_detect_format_looks_inside_gzip(files: dict[str, Path], fmt: str) -> None:
    assert detect_format(gzipped(files[fmt])) == fmt


def test_detect_format_by_content_not_extension(files: dict[str, Path], tmp_path: Path) -> None:
    # A word2vec binary named .txt and a text file named .bin are still told apart.
    binary_named_txt = tmp_path / "misnamed.txt"
    shutil.copy(files["word2vec-binary"], binary_named_txt)
    text_named_bin = tmp_path / "misnamed.bin"
    shutil.copy(files["word2vec-text"], text_named_bin)
    assert detect_format(binary_named_txt) == "word2vec-binary"
    assert detect_format(text_named_bin) == "word2vec-text"


def test_detect_format_fasttext_and_full_models(fasttext_bin: Path, tmp_path: Path) -> None:
    assert detect_format(fasttext_bin) == "fasttext"
    with pytest.raises(EmbeddingsError, match="pickle"):  # gensim's full models are pickles: never detected
        detect_format(fasttext_bin.with_suffix(".model"))
    assert FORMATS == ("auto", "word2vec-binary", "word2vec-text", "glove", "gensim", "fasttext")


def test_detect_format_rejects_other_files(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello world\nthis is prose\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="unrecognised") as caught:
        detect_format(unknown)
    assert str(unknown) in str(caught.value)
    empty = tmp_path / "empty.vec"
    empty.write_bytes(b"")
    with pytest.raises(EmbeddingsError, match="empty"):
        detect_format(empty)


# --------------------------------------------------------------------------- rows equal gensim's


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text", "glove", "gensim"])
@pytest.mark.parametrize("compressed", [False, True])
def test_rows_equal_gensim(files: dict[str, Path], fmt: str, compressed: bool, tmp_path: Path) -> None:
    path = files[fmt]
    if compressed:
        if fmt == "gensim":
            path = tmp_path / "compressed.kv.gz"
            KeyedVectors.load(str(files["gensim"])).save(str(path))
        else:
            path = gzipped(path)
    expected = gensim_load(files[fmt], fmt)
    matrix = build(path, FILE_WORDS, fmt)
    assert matrix.format == fmt
    assert matrix.source == str(path)
    assert matrix.words == FILE_WORDS
    assert matrix.vectors.dtype == np.float32 and matrix.vectors.shape == (len(FILE_WORDS), DIM)
    assert matrix.dim == DIM
    for row, word in enumerate(FILE_WORDS):
        if word == "<unk>":
            continue  # reserved: never looked up
        assert np.array_equal(matrix.vectors[row], expected[word]), word
    assert matrix.stats["file_vocab"] == len(FILE_WORDS)


def test_explicit_format_gives_the_same_rows(files: dict[str, Path]) -> None:
    for fmt, path in files.items():
        if fmt == "gensim":
            continue  # never detected: test_opting_in_to_gensim_warns_that_the_file_can_run_code
        auto = build_matrix(path, ["Paris", "w3"])
        explicit = build_matrix(path, ["Paris", "w3"], format=fmt)
        assert explicit.format == fmt
        assert np.array_equal(auto.vectors, explicit.vectors)


def test_full_word2vec_model_and_mmap_arrays(tmp_path: Path) -> None:
    sentences = [["a", "b", "c", "a"], ["b", "c", "d"]] * 3
    model = Word2Vec(sentences, vector_size=5, min_count=1, epochs=1, workers=1, seed=1)
    path = tmp_path / "w2v.model"
    model.save(str(path), sep_limit=0)  # arrays beside the pickle, so they are memory-mapped on load
    expected = {word: model.wv[word].copy() for word in "abcd"}
    del model
    gc.collect()
    matrix = build(path, ["a", "b", "c", "d", "e"], "gensim")
    assert matrix.format == "gensim"
    for row, word in enumerate("abcd"):
        assert np.array_equal(matrix.vectors[row], expected[word])
    assert not isinstance(matrix.vectors, np.memmap) and matrix.vectors.base is None
    assert matrix.found.tolist() == [True, True, True, True, False]
    gc.collect()
    # Nothing of gensim's survives the build: no KeyedVectors is left alive.
    assert not live_keyed_vectors()


def test_fasttext_bin_rows_and_ngrams(fasttext_bin: Path) -> None:
    expected = load_facebook_vectors(str(fasttext_bin))
    vocab = ["<pad>", "<unk>", "cat", "CAT", "catz", "Francey", "1999", "2001"]
    matrix = build_matrix(fasttext_bin, vocab, extra_words=["mats", "France", "cat"])
    assert matrix.format == "fasttext"
    rows = dict(zip(matrix.words, matrix.vectors))
    assert np.array_equal(rows["cat"], expected["cat"])  # exact
    assert np.array_equal(rows["CAT"], expected["cat"])  # lowercase form, in the model's vocabulary
    assert np.array_equal(rows["1999"], expected["1999"])
    assert np.allclose(rows["2001"], expected["2001"])  # "0000" is not in the model either: n-grams of "2001"
    assert np.allclose(rows["catz"], expected["catz"])  # n-grams of an unknown word
    assert np.allclose(rows["Francey"], expected["Francey"])
    assert matrix.stats == {
        "exact": 2,
        "lower": 1,
        "digits": 0,
        "ngrams": 3,
        "random": 0,
        "reserved": 2,
        "extra": 2,
        "file_vocab": len(expected.index_to_key),
    }
    # Extra words: "mats" comes from n-grams, "France" is known, "cat" is already in the vocabulary.
    assert matrix.words[len(vocab) :] == ["mats", "France"]
    assert np.allclose(rows["mats"], expected["mats"]) and np.array_equal(rows["France"], expected["France"])
    assert matrix.found.tolist() == [False, False] + [True] * 8
    del expected
    gc.collect()
    assert not live_keyed_vectors()


def test_gensim_fasttext_model_uses_ngrams_too(fasttext_bin: Path) -> None:
    expected = FastText.load(str(fasttext_bin.with_suffix(".model"))).wv
    matrix = build(fasttext_bin.with_suffix(".model"), ["cat", "catz"], "gensim")
    assert matrix.stats["exact"] == 1 and matrix.stats["ngrams"] == 1
    assert np.array_equal(matrix.vectors[0], expected["cat"])
    assert np.allclose(matrix.vectors[1], expected["catz"])


def test_fasttext_max_vectors_takes_the_model_vocabulary_in_order(fasttext_bin: Path) -> None:
    expected = load_facebook_vectors(str(fasttext_bin))
    matrix = build_matrix(fasttext_bin, ["the", "zzz"], max_vectors=3, extra_words=["catz"])
    new = [w for w in expected.index_to_key if w != "the"][:3]
    assert matrix.words == ["the", "zzz", "catz", *new]  # the extra word (from its n-grams), then the file's words
    for row, word in enumerate(new, start=3):
        assert np.array_equal(matrix.vectors[row], expected[word])


# --------------------------------------------------------------------------- lookup and random rows


def test_lookup_fallback_order(files: dict[str, Path], reference: KeyedVectors, tmp_path: Path) -> None:
    digits_file = tmp_path / "digits.txt"  # the GloVe file plus a lowercase form of a word with digits
    digits_file.write_text(files["glove"].read_text(encoding="utf-8") + "ab0 1 2 3 4 5 6\n", encoding="utf-8")
    vocab = ["<pad>", "<unk>", "Paris", "PARIS", "paris", "Year1999", "٣٤", "AB3", "Berlin", "missing"]
    matrix = build_matrix(digits_file, vocab)
    rows = dict(zip(matrix.words, matrix.vectors))
    assert np.array_equal(rows["Paris"], reference["Paris"])  # exact wins though "paris" comes first
    assert np.array_equal(rows["PARIS"], reference["paris"])
    assert np.array_equal(rows["paris"], reference["paris"])
    assert np.array_equal(rows["Year1999"], reference["year0000"])
    assert np.array_equal(rows["٣٤"], reference["00"])  # Arabic-Indic digits
    assert rows["AB3"].tolist() == [1, 2, 3, 4, 5, 6]  # lowercase, then digits
    assert np.array_equal(rows["Berlin"], reference["berlin"])
    assert matrix.found.tolist() == [False, False, True, True, True, True, True, True, True, False]
    assert matrix.stats == {
        "exact": 2,
        "lower": 2,
        "digits": 3,
        "ngrams": 0,
        "random": 1,
        "reserved": 2,
        "extra": 0,
        "file_vocab": len(FILE_WORDS) + 1,
    }
    assert matrix.coverage() == pytest.approx(7 / 8)


def test_reserved_and_random_rows(files: dict[str, Path], reference: KeyedVectors) -> None:
    vocab = ["<pad>", "<unk>", "missing", "the", "absent"]
    matrix = build_matrix(files["word2vec-binary"], vocab, seed=5)
    assert not matrix.vectors[0].any()  # <pad>: zeros
    assert not np.array_equal(matrix.vectors[1], reference["<unk>"])  # <unk> is in the file but never looked up
    bound = math.sqrt(3 / DIM)
    for row in (1, 2, 4):
        assert np.all(np.abs(matrix.vectors[row]) <= bound) and matrix.vectors[row].any()
    assert np.array_equal(matrix.vectors[3], reference["the"])
    # Same seed, same rows; the random rows equal random_matrix's, whatever the file found.
    again = build_matrix(files["glove"], vocab, seed=5)
    assert np.array_equal(again.vectors, matrix.vectors)
    plain = random_matrix(vocab, DIM, seed=5)
    for row in (0, 1, 2, 4):
        assert np.array_equal(plain.vectors[row], matrix.vectors[row])
    other = build_matrix(files["word2vec-binary"], vocab, seed=6)
    assert not np.array_equal(other.vectors[2], matrix.vectors[2])
    assert np.array_equal(other.vectors[3], matrix.vectors[3])


def test_random_matrix() -> None:
    matrix = random_matrix(["<pad>", "<unk>", "a", "b"], 50, seed=1)
    assert isinstance(matrix, PretrainedMatrix)
    assert matrix.vectors.shape == (4, 50) and matrix.vectors.dtype == np.float32
    assert not matrix.vectors[0].any() and not matrix.found.any()
    assert matrix.stats["random"] == 2 and matrix.stats["reserved"] == 2 and matrix.coverage() == 0.0
    assert (matrix.source, matrix.format, matrix.dim) == ("", "random", 50)
    # Variance 1/dim: the sample variance of 150 draws is close to 0.02.
    assert matrix.vectors[1:].var() == pytest.approx(1 / 50, rel=0.3)
    assert np.array_equal(random_matrix(["<pad>", "<unk>", "a"], 50, seed=1).vectors, matrix.vectors[:3])
    with pytest.raises(ConfigError):
        random_matrix(["a"], 0)


# --------------------------------------------------------------------------- extra rows and max_vectors


def test_extra_words(files: dict[str, Path], reference: KeyedVectors) -> None:
    extra = ["w5", "PARIS", "w5", "the", "unknown", "<unk>", "w1"]
    matrix = build_matrix(files["word2vec-text"], ["<pad>", "the"], extra_words=iter(extra))
    # Deduplicated, first-seen order, only words the file knows, vocabulary words and reserved ones left out.
    assert matrix.words == ["<pad>", "the", "w5", "PARIS", "w1"]
    assert np.array_equal(matrix.vectors[3], reference["paris"])  # the row keeps the form it was asked with
    assert np.array_equal(matrix.vectors[4], reference["w1"])
    assert matrix.found.tolist() == [False, True, True, True, True]
    assert matrix.stats["extra"] == 3 and matrix.stats["exact"] == 1
    assert matrix.coverage() == 1.0  # extra rows do not count towards coverage


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text", "glove", "gensim"])
def test_max_vectors(files: dict[str, Path], reference: KeyedVectors, fmt: str) -> None:
    vocab = ["<pad>", "<unk>", "the", "Paris", "nowhere"]
    matrix = build(files[fmt], vocab, fmt, max_vectors=4)
    # The file's first words not already rows: "paris" (only "Paris" is a row), "year0000", "naïve", "00".
    assert matrix.words == vocab + ["paris", "year0000", "naïve", "00"]
    for row, word in enumerate(matrix.words[5:], start=5):
        assert np.array_equal(matrix.vectors[row], reference[word])
    assert matrix.stats["extra"] == 4 and matrix.found[5:].all()
    everything = build(files[fmt], vocab, fmt, max_vectors=10_000)
    assert everything.words == vocab + [w for w in FILE_WORDS if w not in vocab]
    assert build(files[fmt], vocab, fmt, max_vectors=0).words == vocab
    # Extra words come first and are not taken twice; the N file words come on top of them.
    both = build(files[fmt], vocab, fmt, max_vectors=2, extra_words=["w19", "YEAR0000", "paris"])
    assert both.words == vocab + ["w19", "YEAR0000", "paris", "year0000", "naïve"]  # rows are told apart as written
    assert np.array_equal(both.vectors[6], reference["year0000"]) and both.stats["extra"] == 5
    assert build(files[fmt], vocab, fmt, max_vectors=0, extra_words=["w1", "nowhere2"]).words == vocab + ["w1"]


@pytest.mark.parametrize("fmt", ["word2vec-binary", "glove", "gensim"])
def test_max_values_bounds_the_file_rows_by_their_size(files: dict[str, Path], reference: KeyedVectors, fmt: str) -> None:
    vocab = ["<pad>", "<unk>", "the", "Paris", "nowhere"]
    # max_values // DIM rows of the file, whatever the vocabulary: 3 rows for 3.5 rows' worth of numbers.
    matrix = build(files[fmt], vocab, fmt, max_values=3 * DIM + DIM // 2, extra_words=["w3"])
    assert matrix.words == vocab + ["w3", "paris", "year0000", "naïve"]
    assert build(files[fmt], vocab, fmt, max_values=10**9).words == vocab + [w for w in FILE_WORDS if w not in vocab]
    assert build(files[fmt], vocab, fmt, max_values=DIM - 1).words == vocab
    # With both, the smaller bound wins.
    assert build(files[fmt], vocab, fmt, max_values=3 * DIM, max_vectors=1).words == vocab + ["paris"]
    assert build(files[fmt], vocab, fmt, max_values=DIM, max_vectors=5).words == vocab + ["paris"]


def test_duplicate_file_words_keep_the_first_vector(tmp_path: Path) -> None:
    path = tmp_path / "dups.txt"
    path.write_text(
        textwrap.dedent(
            """\
            3 2
            a 1 2
            b 3 4
            a 5 6
            """
        ),
        encoding="utf-8",
    )
    expected = KeyedVectors.load_word2vec_format(str(path))
    matrix = build_matrix(path, ["a"], max_vectors=5)
    assert matrix.words == ["a", "b"]
    assert matrix.vectors.tolist() == [[1, 2], [3, 4]]
    assert np.array_equal(matrix.vectors[0], expected["a"])


# --------------------------------------------------------------------------- format corners


def test_binary_with_newline_after_each_vector(tmp_path: Path, reference: KeyedVectors) -> None:
    path = tmp_path / "newlines.bin"
    with open(path, "wb") as out:
        out.write(f"{len(FILE_WORDS)} {DIM}\n".encode())
        for word in FILE_WORDS:
            out.write(word.encode("utf-8") + b" " + reference[word].astype("<f4").tobytes() + b"\n")
    expected = KeyedVectors.load_word2vec_format(str(path), binary=True)
    matrix = build_matrix(path, FILE_WORDS[:5])
    assert matrix.format == "word2vec-binary"
    for row, word in enumerate(FILE_WORDS[:5]):
        assert np.array_equal(matrix.vectors[row], expected[word])
        assert np.array_equal(matrix.vectors[row], reference[word])


def test_binary_non_utf8_word(tmp_path: Path) -> None:
    path = tmp_path / "latin1.bin"
    rows = [(b"ok", [1.0, 2.0]), (b"caf\xe9", [3.0, 4.0]), (b"end", [5.0, 6.0])]
    with open(path, "wb") as out:
        out.write(b"3 2\n")
        for word, values in rows:
            out.write(word + b" " + np.array(values, dtype="<f4").tobytes())
    with pytest.raises(EmbeddingsError, match="entry 2 of 3") as caught:
        build_matrix(path, ["ok"])
    assert str(path) in str(caught.value)
    expected = KeyedVectors.load_word2vec_format(str(path), binary=True, unicode_errors="replace")
    matrix = build_matrix(path, ["caf\ufffd", "end"], unicode_errors="replace")
    assert np.array_equal(matrix.vectors[0], expected["caf\ufffd"])
    assert matrix.found.all()
    with pytest.raises(ConfigError):
        build_matrix(path, ["ok"], unicode_errors="no-such-handler")


def test_glove_word_with_spaces_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "glove.840B.txt"
    path.write_bytes(b", 0.5 -1 2\r\n. . . 1 2 3\r\nat name@x.com 4 5 6\r\n\r\nend 7 8 9\r\n")
    matrix = build_matrix(path, [",", ". . .", "at name@x.com", "end"])
    assert matrix.format == "glove" and matrix.dim == 3
    assert matrix.vectors.tolist() == [[0.5, -1, 2], [1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert matrix.stats["file_vocab"] == 4


def test_header_only_file_gives_random_rows(tmp_path: Path) -> None:
    path = tmp_path / "none.bin"
    path.write_bytes(b"0 4\n")
    matrix = build_matrix(path, ["<pad>", "a", "b"], seed=2)
    assert matrix.format == "word2vec-binary" and matrix.dim == 4
    assert np.array_equal(matrix.vectors, random_matrix(["<pad>", "a", "b"], 4, seed=2).vectors)


# --------------------------------------------------------------------------- errors


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("the 1 2 3\nof 4 5\nand 6 7 8\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError) as caught:
        build_matrix(path, ["and"])
    assert caught.value.line == 2 and str(caught.value).startswith(f"{path}:2: ")
    bad_number = tmp_path / "bad_number.txt"
    bad_number.write_text("2 3\nthe 1 2 3\nof 4 x 6\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="not a number") as caught:
        build_matrix(bad_number, ["of"])
    assert caught.value.line == 3


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text"])
def test_truncated_files(files: dict[str, Path], fmt: str, tmp_path: Path) -> None:
    data = files[fmt].read_bytes()
    cut = tmp_path / files[fmt].name
    cut.write_bytes(data[: len(data) - 10])
    if fmt == "word2vec-text":  # the last line loses its tail; drop it so the count is short
        cut.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
    with pytest.raises(EmbeddingsError, match=str(len(FILE_WORDS))) as caught:
        build_matrix(cut, ["the"])
    assert caught.value.path == str(cut)


def test_user_errors_name_the_file(tmp_path: Path, files: dict[str, Path]) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(EmbeddingsError, match="no such file") as caught:
        build_matrix(missing, ["a"])
    assert caught.value.path == str(missing)
    with pytest.raises(EmbeddingsError, match="directory"):
        build_matrix(tmp_path, ["a"])
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(EmbeddingsError, match="empty"):
        build_matrix(empty, ["a"])
    with pytest.raises(EmbeddingsError, match="looks like 'word2vec-text'"):
        build_matrix(files["word2vec-text"], ["a"], format="word2vec-binary")
    with pytest.raises(EmbeddingsError, match="looks like 'word2vec-text'"):
        build_matrix(files["word2vec-text"], ["a"], format="glove")
    with pytest.raises(ConfigError, match="unknown embeddings format"):
        build_matrix(files["glove"], ["a"], format="bin")
    with pytest.raises(ConfigError, match="max_vectors"):
        build_matrix(files["glove"], ["a"], max_vectors=-1)
    for bad in (-1, 2.5, True):
        with pytest.raises(ConfigError, match="max_values"):
            build_matrix(files["glove"], ["a"], max_values=bad)
    with pytest.raises(ValueError, match="twice"):
        build_matrix(files["glove"], ["a", "b", "a"])


@pytest.mark.parametrize(
    "name, content",
    [
        ("corrupt.kv", b"\x80\x04this is not a pickle"),
        ("dict.kv", pickle.dumps({"not": "vectors"})),
        ("truncated.model", b""),  # replaced by a cut gensim pickle below
        ("corrupt.bin", (793712314).to_bytes(4, "little") + b"\x0c\x00\x00\x00garbage"),
    ],
)
def test_gensim_failures_become_embeddings_errors(tmp_path: Path, files: dict[str, Path], name: str, content: bytes) -> None:
    path = tmp_path / name
    if name == "truncated.model":
        content = files["gensim"].read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(EmbeddingsError) as caught:
        build(path, ["the"], "fasttext" if name.endswith(".bin") else "gensim")
    assert caught.value.path == str(path)


# --------------------------------------------------------------------------- untrusted files: pickles


class _MkdirPayload:
    """Unpickling this object calls ``os.mkdir(marker)``: the proof that a pickle ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def malicious_pickle(path: Path, marker: Path) -> Path:
    """Write a pickle (protocol 4, so its first byte is 0x80) whose loading creates ``marker``."""
    path.write_bytes(pickle.dumps(_MkdirPayload(marker), protocol=4))
    return path


@pytest.mark.parametrize("name", ["glove.6B.50d.txt", "vectors.kv", "vectors.model.gz", "plain"])
def test_a_pickle_is_never_loaded_by_detection(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "pwned"
    path = malicious_pickle(tmp_path / name, marker)
    for call in (lambda: detect_format(path), lambda: build_matrix(path, ["the"])):
        with pytest.raises(EmbeddingsError, match="pickle") as caught:
            call()
        assert caught.value.path == str(path)
        assert "format='gensim'" in str(caught.value) and "run code" in str(caught.value)
        assert not marker.exists()
    # Naming another format does not load it either: the content says it is a pickle.
    for fmt in ("word2vec-binary", "word2vec-text", "glove", "fasttext"):
        with pytest.raises(EmbeddingsError, match="pickle"):
            build_matrix(path, ["the"], format=fmt)
        assert not marker.exists()


def test_a_gensim_suffix_alone_is_not_a_reason_to_unpickle(files: dict[str, Path], tmp_path: Path) -> None:
    # Word2vec text named .kv reads as text; an unrecognised .model file says how to opt in.
    text_named_kv = tmp_path / "vectors.kv"
    shutil.copy(files["word2vec-text"], text_named_kv)
    assert detect_format(text_named_kv) == "word2vec-text"
    protocol0 = tmp_path / "old.model"
    protocol0.write_bytes(pickle.dumps({"a": 1}, protocol=0))
    with pytest.raises(EmbeddingsError, match="format='gensim'"):
        detect_format(protocol0)


def test_opting_in_to_gensim_warns_that_the_file_can_run_code(files: dict[str, Path], reference: KeyedVectors, tmp_path: Path) -> None:
    with pytest.warns(UnsafeFormatWarning, match="run code") as caught:
        matrix = build_matrix(files["gensim"], ["Paris", "w3"], format="gensim")
    assert len(caught) == 1 and str(files["gensim"]) in str(caught[0].message)
    assert "\n" not in str(caught[0].message)
    assert np.array_equal(matrix.vectors[0], reference["Paris"])
    # The opt-in does run a malicious pickle: that is what the warning is for.
    marker = tmp_path / "pwned"
    path = malicious_pickle(tmp_path / "evil.kv", marker)
    with pytest.warns(UnsafeFormatWarning), pytest.raises(EmbeddingsError):
        build_matrix(path, ["the"], format="gensim")
    assert marker.exists()


# --------------------------------------------------------------------------- untrusted files: numbers


def peak_bytes(call) -> tuple[object, int]:
    """``call()``'s result (or the exception it raised) and the peak of the memory it allocated (NumPy's too)."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as exc:  # returned, so the peak is measured for failures too
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def binary_rows(words: list[str], dim: int) -> bytes:
    return b"".join(w.encode() + b" " + np.arange(dim, dtype="<f4").tobytes() for w in words)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("huge_count.txt", b"1000000000000 300\nthe " + b"0.5 " * 299 + b"0.5\n", "1000000000000 vectors"),
        ("huge_count.bin", b"1000000000000 3\n" + binary_rows(["the", "of"], 3), "1000000000000 vectors"),
        ("huge_dim.txt", b"2 1000000000000\nthe 1 2 3\n", "dimension 1000000000000"),
        ("huge_dim.bin", b"1 100000000\n" + binary_rows(["the"], 3), "dimension 100000000"),
        ("huge_dim_empty.bin", b"0 100000000\n", "dimension 100000000"),
        ("negative_dim.txt", b"10 -5\nthe 1 2 3 4 5\n", "header"),
        ("zero_dim.txt", b"3 0\nthe\n", "header"),
        ("many_digits.txt", b"1" * 5000 + b" 3\nthe 1 2 3\n", "header"),
        ("huge_count.txt.gz", gzip.compress(b"1000000000000 3\nthe 1 2 3\nof 4 5 6\n"), "ends after 2"),
        ("huge_dim.bin.gz", gzip.compress(b"1 100000000\n" + binary_rows(["the"], 3)), "dimension 100000000"),
    ],
)
def test_header_numbers_are_checked_before_allocating(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    caught, peak = peak_bytes(lambda: build_matrix(path, ["the", "of"]))
    assert isinstance(caught, EmbeddingsError), caught
    assert message in str(caught) and caught.path == str(path) and caught.line == 1
    assert peak < 8 << 20, peak  # the sniffing megabyte and the read buffer, nothing sized by the header


def test_max_dim_is_documented_and_enforced(tmp_path: Path) -> None:
    from tagger.embeddings import MAX_DIM

    assert 1024 <= MAX_DIM <= 100_000
    ok = tmp_path / "wide.bin"
    ok.write_bytes(f"1 {MAX_DIM}\n".encode() + binary_rows(["the"], MAX_DIM))
    assert build_matrix(ok, ["the"]).dim == MAX_DIM
    wide = tmp_path / "wider.bin"
    wide.write_bytes(f"1 {MAX_DIM + 1}\n".encode() + binary_rows(["the"], MAX_DIM + 1))
    with pytest.raises(EmbeddingsError, match=f"dimension {MAX_DIM + 1}.*{MAX_DIM}"):
        build_matrix(wide, ["the"])


def test_rows_that_disagree_with_the_header_name_the_line(tmp_path: Path) -> None:
    long_row = tmp_path / "long_row.txt"  # word2vec text, as gensim reads it: exactly one word and DIM numbers
    long_row.write_text("2 3\nthe 1 2 3\nof 1 2 3 4\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="expected a word and 3 numbers, found 5 fields") as caught:
        build_matrix(long_row, ["of"])
    assert caught.value.line == 3
    short = tmp_path / "short.txt"
    short.write_text("5 3\nthe 1.25 2.5 3.75\nof 4.25 5.5 6.75\n", encoding="utf-8")  # room for 5 rows of 3 digits
    with pytest.raises(EmbeddingsError, match="announces 5 vectors but the file ends after 2") as caught:
        build_matrix(short, ["of"])
    assert caught.value.line == 1


def test_an_endless_line_is_not_read_into_memory(tmp_path: Path) -> None:
    path = tmp_path / "endless.txt"
    with open(path, "wb") as out:
        out.write(b"the 1 2 3\nof 4 5 6\n")
        out.write(b"x" * (32 << 20))
    caught, peak = peak_bytes(lambda: build_matrix(path, ["the"]))
    assert isinstance(caught, EmbeddingsError) and caught.line == 3 and "longer than" in str(caught)
    assert peak < 8 << 20, peak


def fasttext_cut(fasttext_bin: Path, tmp_path: Path, size: int) -> Path:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(fasttext_bin.read_bytes()[:size])
    return cut


def test_fasttext_headers_and_truncations(fasttext_bin: Path, tmp_path: Path) -> None:
    data = fasttext_bin.read_bytes()
    # Cut inside the header, the vocabulary (gensim's reader loops for ever there) or the input matrix.
    output_matrix = 13 * 8 * 4  # 13 words x dim 8: the last matrix, which word vectors do not need
    for size in (60, 80, 120, 200, len(data) // 2, len(data) - output_matrix - 20):
        cut = fasttext_cut(fasttext_bin, tmp_path, size)
        caught, peak = peak_bytes(lambda cut=cut: build_matrix(cut, ["cat"]))
        assert isinstance(caught, EmbeddingsError), (size, caught)
        assert caught.path == str(cut)
    assert build_matrix(fasttext_cut(fasttext_bin, tmp_path, len(data) - 4), ["cat"]).found.all()  # cut in the output matrix
    # dim is the first int32 after magic and version; bucket the 9th.
    huge_dim = bytearray(data)
    huge_dim[8:12] = (1 << 30).to_bytes(4, "little")
    (tmp_path / "dim.bin").write_bytes(bytes(huge_dim))
    with pytest.raises(EmbeddingsError, match="dimension"):
        build_matrix(tmp_path / "dim.bin", ["cat"])
    huge_bucket = bytearray(data)
    huge_bucket[40:44] = (2**31 - 1).to_bytes(4, "little")
    (tmp_path / "bucket.bin").write_bytes(bytes(huge_bucket))
    caught, peak = peak_bytes(lambda: build_matrix(tmp_path / "bucket.bin", ["cat"]))
    assert isinstance(caught, EmbeddingsError) and peak < 8 << 20, (caught, peak)


# --------------------------------------------------------------------------- untrusted files: non-finite numbers


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN", "1e50"])
def test_non_finite_text_vectors_name_the_line(tmp_path: Path, bad: str) -> None:
    glove = tmp_path / "glove.txt"
    glove.write_text(f"the 1 2 3\nof 4 {bad} 6\nand 7 8 9\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="not finite") as caught:
        build_matrix(glove, ["of"])
    assert (caught.value.path, caught.value.line) == (str(glove), 2)
    w2v = tmp_path / "w2v.txt"
    w2v.write_text(f"2 3\nthe 1 2 3\nof 4 {bad} 6\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="not finite") as caught:
        build_matrix(w2v, ["the"], max_vectors=5)
    assert caught.value.line == 3
    # Rows the vocabulary does not use are skipped unparsed, as before.
    assert build_matrix(glove, ["the", "and"]).found.all()


def test_non_finite_binary_and_gensim_vectors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "nan.bin"
    rows = [("the", [1.0, 2.0]), ("of", [3.0, float("nan")])]
    path.write_bytes(b"2 2\n" + b"".join(w.encode() + b" " + np.array(v, dtype="<f4").tobytes() for w, v in rows))
    with pytest.raises(EmbeddingsError, match="entry 2 of 2.*not finite") as caught:
        build_matrix(path, ["of"])
    assert caught.value.path == str(path)
    kv = KeyedVectors(vector_size=2)
    kv.add_vectors(["the", "of"], np.array([[1, 2], [np.inf, 0]], dtype=np.float32))
    kv.save(str(tmp_path / "inf.kv"))
    with pytest.warns(UnsafeFormatWarning), pytest.raises(EmbeddingsError, match="'of'.*not finite"):
        build_matrix(tmp_path / "inf.kv", ["of"], format="gensim")


@pytest.mark.parametrize("word", ["\x85", "\u2028", "a\u00a0b", "\x1c"])
def test_words_with_unicode_whitespace_are_words(tmp_path: Path, word: str) -> None:
    # Found by tests/fuzz: detection split rows with str.split(), the readers split on ASCII whitespace only.
    glove = tmp_path / "glove.txt"
    glove.write_text(f"{word} 0.5 1.5\n", encoding="utf-8")
    w2v = tmp_path / "w2v.txt"
    w2v.write_text(f"1 2\n{word} 0.5 1.5\n", encoding="utf-8")
    for path, fmt in ((glove, "glove"), (w2v, "word2vec-text")):
        assert detect_format(path) == fmt
        assert build_matrix(path, [word]).vectors.tolist() == [[0.5, 1.5]]


def test_added_rows_across_growing_chunks(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("".join(f"w{i} {i} {-i}\n" for i in range(3000)), encoding="utf-8")
    matrix = build_matrix(path, ["w5"], max_vectors=2500)
    assert matrix.words == ["w5"] + [f"w{i}" for i in range(3000) if i != 5][:2500]
    assert matrix.vectors[1:].tolist() == [[float(w[1:]), -float(w[1:])] for w in matrix.words[1:]]
    # A small max_vectors allocates for those rows only, whatever the file holds.
    _, peak = peak_bytes(lambda: build_matrix(path, ["w5"], max_vectors=3))
    assert peak < 4 << 20
