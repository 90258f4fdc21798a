"""Tests for ``tagger embeddings train|info`` through CliRunner."""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import pytest

from tests.cli.conftest import NER_SENTENCES, Data, invoke

CORPUS = textwrap.dedent(
    """\
    the cat sat on the mat .
    the dog sat on the log .
    a cat and a dog played in Paris .
    John lives in Paris and Mary lives in London .
    """
)
TINY = ["--dim", "8", "--min-count", "1", "--epochs", "2", "--workers", "1"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


@pytest.mark.parametrize("algorithm, architecture, fmt", [("word2vec", "cbow", "word2vec-binary"), ("fasttext", "skipgram", "fasttext")])
def test_train_then_info(corpus: Path, tmp_path: Path, algorithm: str, architecture: str, fmt: str) -> None:
    out = tmp_path / "vectors.bin"
    buckets = ["--buckets", "1000"] if algorithm == "fasttext" else []
    result = invoke(
        [
            "embeddings",
            "train",
            corpus,
            "--out",
            out,
            "--algorithm",
            algorithm,
            "--architecture",
            architecture,
            *TINY,
            *buckets,
            "--word",
            "cat",
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"format       {fmt}" in result.stdout and "vocabulary   17 words" in result.stdout
    assert "nearest to 'cat':" in result.stdout and result.stdout.strip().endswith(f"vectors written to {out}")
    info = invoke(["embeddings", "info", out, "--word", "Paris", "--topn", "3", "--json"])
    assert info.exit_code == 0, info.output
    summary = json.loads(info.stdout)
    assert (summary["format"], summary["vocab_size"], summary["dim"]) == (fmt, 17, 8)
    assert len(summary["neighbours"]["Paris"]) == 3
    text = invoke(["embeddings", "info", out])
    assert "dimension    8" in text.stdout and "nearest" not in text.stdout


def test_train_on_a_conll_file_and_reuse_for_tagger_train(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "conll.bin"
    result = invoke(["embeddings", "train", data.train, "--out", out, *TINY, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["vocab_size"] == len({word for text, _ in NER_SENTENCES for word in text.split()})  # the token column
    # tagger train --embeddings reads the file (the matrix is built from it).
    from tagger.embeddings import build_matrix

    assert build_matrix(out, ["<pad>", "<unk>", "John", "Paris"]).found[2:].all()


def test_refuses_to_overwrite_without_force(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.bin"
    out.write_bytes(b"keep me")
    result = invoke(["embeddings", "train", corpus, "--out", out, *TINY])
    assert result.exit_code == 2
    assert result.stderr == f"tagger: error: {out}: already exists; pass --force (force=True) to replace it\n"
    assert out.read_bytes() == b"keep me"
    assert invoke(["embeddings", "train", corpus, "--out", out, *TINY, "--force"]).exit_code == 0
    assert out.read_bytes() != b"keep me"


def test_info_on_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nthe 0.1 0.2 0.3\ncat 0.1 0.2\n", encoding="utf-8")
    result = invoke(["embeddings", "info", bad, "--format", "word2vec-text"])
    assert result.exit_code == 2
    assert result.stderr == f"tagger: error: {bad}:3: expected a word and 3 numbers, found 3 fields\n"
    assert "Traceback" not in result.output


def test_unknown_word_and_help(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.bin"
    assert invoke(["embeddings", "train", corpus, "--out", out, *TINY]).exit_code == 0
    result = invoke(["embeddings", "info", out, "--word", "zebra"])
    assert result.exit_code == 2 and "'zebra' is not in the vocabulary" in result.stderr
    for command in (["embeddings", "train", "--help"], ["embeddings", "info", "--help"]):
        help_text = invoke(command).stdout
        assert "Examples:" in help_text and "tagger embeddings" in help_text


def test_info_and_train_never_unpickle_a_vector_file(data: Data, tmp_path: Path) -> None:
    from tests.unit.test_embeddings import malicious_pickle

    marker = tmp_path / "pwned"
    for name in ("glove.6B.50d.txt", "vectors.kv"):
        path = malicious_pickle(tmp_path / name, marker)
        for args in (
            ["embeddings", "info", path],
            ["embeddings", "info", path, "--format", "glove"],
            ["train", "--train", data.train, "--dev", data.dev, "--embeddings", path, "--out", tmp_path / "m", "--max-epochs", "1"],
        ):
            result = invoke(args)
            assert result.exit_code == 2, result.output
            assert result.stderr.startswith(f"tagger: error: {path}: ") and "pickle" in result.stderr
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
            assert not marker.exists()
    assert not (tmp_path / "m").exists()


def test_info_with_format_gensim_warns_in_one_line(tmp_path: Path) -> None:
    import numpy as np
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["a", "b"], np.eye(2, 3, dtype=np.float32))
    path = tmp_path / "vectors.kv"
    kv.save(str(path))
    refused = invoke(["embeddings", "info", path])
    assert refused.exit_code == 2 and "--format gensim" in refused.stderr
    result = invoke(["embeddings", "info", path, "--format", "gensim"])
    assert result.exit_code == 0, result.output
    assert "vocabulary   2 words" in result.stdout
    warning_lines = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("tagger: warning: ") and "can run code" in warning_lines[0]


def test_train_with_embeddings_format_gensim_warns_and_trains(data: Data, tmp_path: Path) -> None:
    import numpy as np
    from gensim.models import KeyedVectors

    from tagger.embeddings import UnsafeFormatWarning

    kv = KeyedVectors(vector_size=8)
    words = sorted({word for text, _ in NER_SENTENCES for word in text.split()})
    kv.add_vectors(words, np.random.default_rng(0).standard_normal((len(words), 8)).astype(np.float32))
    path = tmp_path / "vectors.kv"
    kv.save(str(path))
    args = ["train", "--train", data.train, "--dev", data.dev, "--embeddings", path, "--max-epochs", "1", "--hidden-size", "8"]
    refused = invoke([*args, "--out", tmp_path / "refused"])
    assert refused.exit_code == 2 and "--embeddings-format gensim" in refused.stderr
    with warnings.catch_warnings():  # setup.cfg makes warnings errors; the CLI prints this one as a line
        warnings.simplefilter("always", UnsafeFormatWarning)
        result = invoke([*args, "--out", tmp_path / "m", "--embeddings-format", "gensim"])
    assert result.exit_code == 0, result.output
    assert f"tagger: warning: {path}: loading a gensim pickle, which can run code" in result.stderr
    assert json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))["model"]["word_dim"] == 8
