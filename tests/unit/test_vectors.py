"""Tests for tagger.vectors (gensim training of word2vec/fastText files) and for reading them back with tagger.embeddings."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tagger.corpora.sentences import CorpusSentences
from tagger.embeddings import build_matrix, detect_format, load_vectors, vectors_info
from tagger.errors import ConfigError, EmbeddingsError
from tagger.vectors import VectorTrainingConfig, train_vectors

TEXT = textwrap.dedent(
    """\
    the cat sat on the mat .
    the dog sat on the log .

    a cat and a dog played in Paris .
    John lives in Paris and Mary lives in London .
    """
)
CONLL = textwrap.dedent(
    """\
    -DOCSTART- -X- O O

    John NNP B-NP B-PER
    lives VBZ B-VP O
    in IN B-PP O
    Paris NNP B-NP B-LOC

    the DT B-NP O
    cat NN I-NP O
    """
)
CONLLU = "# sent_id = 1\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\tNN\t_\t0\troot\t_\t_\n\n"
TINY = {"dim": 8, "min_count": 1, "epochs": 2, "workers": 1, "seed": 3}


def _train(corpus: Path, out: Path, *, force: bool = False, neighbours_of: tuple = (), topn: int = 10, **options: object):
    """``tagger embeddings train``'s call: the corpus file's sentences and a VectorTrainingConfig of ``options``."""
    config = VectorTrainingConfig(**options)  # type: ignore[arg-type]
    return train_vectors(CorpusSentences(corpus), out, config, force=force, neighbours_of=neighbours_of, topn=topn)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture
def corpora_files(tmp_path: Path) -> dict:
    files = {"text": tmp_path / "corpus.txt", "conll": tmp_path / "corpus.conll", "conllu": tmp_path / "corpus.conllu"}
    files["text"].write_text(TEXT, encoding="utf-8")
    files["conll"].write_text(CONLL, encoding="utf-8")
    files["conllu"].write_text(CONLLU, encoding="utf-8")
    return files


@pytest.mark.parametrize("algorithm, fmt", [("word2vec", "word2vec-binary"), ("fasttext", "fasttext")])
def test_train_write_and_read_back(corpora_files: dict, tmp_path: Path, algorithm: str, fmt: str) -> None:
    out = tmp_path / f"{algorithm}.bin"
    buckets = {"buckets": 1000} if algorithm == "fasttext" else {}
    info = _train(
        corpora_files["text"], out, algorithm=algorithm, architecture="skipgram", neighbours_of=("cat",), topn=3, **buckets, **TINY
    )
    assert (info.format, info.dim, info.vocab_size, info.subwords) == (fmt, 8, 17, algorithm == "fasttext")
    assert [w for w, _ in info.neighbours["cat"]] and len(info.neighbours["cat"]) == 3
    assert detect_format(out) == fmt
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert out.stat().st_mode & 0o777 == 0o666 & ~current_umask()  # an ordinary file, not mkstemp's 0600
    assert out.stat().st_size < 100_000  # fastText: 1000 buckets, not gensim's 2 million
    again = vectors_info(out, ["Paris"], topn=2)
    assert (again.format, again.vocab_size, again.dim) == (fmt, 17, 8)
    assert len(again.neighbours["Paris"]) == 2 and all(-1.0 <= s <= 1.0 for _, s in again.neighbours["Paris"])
    # What tagger train --embeddings does with the file: every corpus word is found.
    matrix = build_matrix(out, ["<pad>", "<unk>", "cat", "Paris"], seed=0)
    assert matrix.dim == 8 and matrix.found[2:].all()
    kv, _ = load_vectors(out)
    assert np.allclose(matrix.vectors[2], kv["cat"], atol=1e-5)


def test_fasttext_answers_for_unknown_words_and_word2vec_does_not(corpora_files: dict, tmp_path: Path) -> None:
    _train(corpora_files["text"], tmp_path / "ft.bin", algorithm="fasttext", buckets=500, **TINY)
    assert len(vectors_info(tmp_path / "ft.bin", ["Parisian"], topn=1).neighbours["Parisian"]) == 1
    _train(corpora_files["text"], tmp_path / "w2v.bin", **TINY)
    with pytest.raises(ConfigError, match="'Parisian' is not in the vocabulary"):
        vectors_info(tmp_path / "w2v.bin", ["Parisian"])


def test_train_on_conll_uses_the_token_column(corpora_files: dict, tmp_path: Path) -> None:
    info = _train(corpora_files["conll"], tmp_path / "v.bin", **TINY)
    kv, _ = load_vectors(tmp_path / "v.bin")
    assert sorted(kv.index_to_key) == sorted(["John", "lives", "in", "Paris", "the", "cat"]) and info.vocab_size == 6


def test_same_seed_single_worker_gives_identical_vectors(corpora_files: dict, tmp_path: Path) -> None:
    _train(corpora_files["text"], tmp_path / "a.bin", **TINY)
    _train(corpora_files["text"], tmp_path / "b.bin", **TINY)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_refuses_to_overwrite_without_force(corpora_files: dict, tmp_path: Path) -> None:
    out = tmp_path / "v.bin"
    out.write_bytes(b"precious")
    with pytest.raises(ConfigError, match="already exists"):
        _train(corpora_files["text"], out, **TINY)
    assert out.read_bytes() == b"precious"
    _train(corpora_files["text"], out, force=True, **TINY)
    assert detect_format(out) == "word2vec-binary"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"algorithm": "glove"}, "algorithm must be one of"),
        ({"architecture": "sg"}, "architecture must be one of"),
        ({"dim": 0}, "dim must be >= 1"),
        ({"min_count": 100}, "no word occurs min_count=100 times"),
        ({"buckets": 100}, "buckets applies to fasttext"),
        ({"algorithm": "fasttext", "buckets": 0}, "buckets applies to fasttext and must be >= 1"),
    ],
)
def test_bad_options(corpora_files: dict, tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _train(corpora_files["text"], tmp_path / "v.bin", **{**TINY, **options})
    assert list(tmp_path.glob("*.bin")) == [] and list(tmp_path.glob(".*")) == []


def test_bad_output_paths(corpora_files: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        _train(corpora_files["text"], tmp_path, **TINY)
    with pytest.raises(ConfigError, match="parent directory does not exist"):
        _train(corpora_files["text"], tmp_path / "no" / "v.bin", **TINY)


def test_unreadable_vector_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02 not vectors at all \xff" * 10)
    with pytest.raises(EmbeddingsError) as info:
        vectors_info(garbage)
    assert info.value.path == str(garbage)
    truncated = tmp_path / "truncated.txt"
    truncated.write_text("3 4\nthe 0.1 0.2 0.3 0.4\ncat 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="expected a word and 4 numbers, found 3 fields") as info:
        vectors_info(truncated, format="word2vec-text")
    assert info.value.line == 3
    with pytest.raises(EmbeddingsError, match="no such file"):
        vectors_info(tmp_path / "missing.bin")
    with pytest.raises(ConfigError, match="topn"):
        vectors_info(truncated, topn=0)


def test_glove_and_limit(tmp_path: Path) -> None:
    glove = tmp_path / "glove.txt"
    glove.write_text("the 0.1 0.2 0.3\ncat 0.2 0.1 0.3\ndog 0.2 0.1 0.35\n", encoding="utf-8")
    info = vectors_info(glove, ["cat"], topn=1)
    assert (info.format, info.vocab_size, info.dim, info.neighbours["cat"][0][0]) == ("glove", 3, 3, "dog")
    assert vectors_info(glove, limit=2).vocab_size == 2


def test_info_never_unpickles_by_detection(tmp_path: Path) -> None:
    from tests.unit.test_embeddings import malicious_pickle

    marker = tmp_path / "pwned"
    for name in ("glove.6B.50d.txt", "vectors.kv"):
        path = malicious_pickle(tmp_path / name, marker)
        for fmt in ("auto", "word2vec-text"):
            with pytest.raises(EmbeddingsError, match="pickle") as caught:
                vectors_info(path, format=fmt)
            assert caught.value.path == str(path)
            with pytest.raises(EmbeddingsError, match="pickle") as caught:
                load_vectors(path, fmt)
            assert caught.value.path == str(path)
            assert not marker.exists()


def test_info_reads_gensim_files_only_when_asked_and_warns(tmp_path: Path) -> None:
    from gensim.models import KeyedVectors

    from tagger.embeddings import UnsafeFormatWarning

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    path = tmp_path / "vectors.kv"
    kv.save(str(path))
    with pytest.raises(EmbeddingsError, match="format='gensim'"):
        vectors_info(path)
    with pytest.warns(UnsafeFormatWarning, match="can run code"):
        info = vectors_info(path, ["a"], topn=1, format="gensim")
    assert (info.format, info.vocab_size, info.dim) == ("gensim", 3, 3)


def test_info_checks_header_numbers_before_allocating(tmp_path: Path) -> None:
    from tests.unit.test_embeddings import peak_bytes

    path = tmp_path / "huge.txt"
    path.write_text("1000000000000 3\nthe 1 2 3\n", encoding="utf-8")
    caught, peak = peak_bytes(lambda: vectors_info(path))
    assert isinstance(caught, EmbeddingsError) and caught.line == 1, caught
    assert peak < 8 << 20
    nan = tmp_path / "nan.txt"
    nan.write_text("the 1 2 3\nof 4 nan 6\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="not finite") as caught:
        vectors_info(nan)
    assert caught.value.line == 2


def test_sentences_from_memory_train_the_same_vectors_as_their_file(corpora_files: dict, tmp_path: Path) -> None:
    sentences = [line.split() for line in TEXT.splitlines() if line.split()]
    train_vectors(sentences, tmp_path / "memory.bin", VectorTrainingConfig(**TINY))
    _train(corpora_files["text"], tmp_path / "file.bin", **TINY)
    assert (tmp_path / "memory.bin").read_bytes() == (tmp_path / "file.bin").read_bytes()


def test_a_one_pass_iterator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="more than once"):
        train_vectors(iter([["a", "b"]]), tmp_path / "v.bin", VectorTrainingConfig(**TINY))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dim": 2.5}, "dim must be >= 1"),
        ({"epochs": True}, "epochs must be >= 1"),
        ({"workers": 0}, "workers must be >= 1"),
        ({"window": -1}, "window must be >= 1"),
    ],
)
def test_training_config_is_checked_on_construction(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VectorTrainingConfig(**options)


def test_training_vectors_reads_no_corpus_itself() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tempfile, pathlib; from tagger.vectors import VectorTrainingConfig, train_vectors; "
        "out = pathlib.Path(tempfile.mkdtemp()) / 'v.bin'; "
        "train_vectors([['a', 'b'], ['b', 'a']], out, VectorTrainingConfig(dim=4, min_count=1, epochs=1, workers=1)); "
        "print(sorted(m for m in sys.modules if m.startswith('tagger.corpora')))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
