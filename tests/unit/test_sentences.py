"""Tests for corpora.sentences: a corpus file's token lists for training word vectors (running text, CoNLL, CoNLL-U)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.corpora.sentences import CorpusSentences, detect_corpus_format
from tagger.errors import ConfigError, CorpusFormatError
from tests.unit.test_vectors import CONLL, CONLLU, TEXT


@pytest.fixture
def corpora_files(tmp_path: Path) -> dict:
    files = {"text": tmp_path / "corpus.txt", "conll": tmp_path / "corpus.conll", "conllu": tmp_path / "corpus.conllu"}
    for kind, content in (("text", TEXT), ("conll", CONLL), ("conllu", CONLLU)):
        files[kind].write_text(content, encoding="utf-8")
    return files


def test_detect_corpus_format(corpora_files: dict, tmp_path: Path) -> None:
    assert {kind: detect_corpus_format(path) for kind, path in corpora_files.items()} == {
        "text": "text",
        "conll": "conll",
        "conllu": "conllu",
    }
    tokens_only = tmp_path / "tokens.conll"
    tokens_only.write_text("John\nlives\n\nParis\n", encoding="utf-8")
    assert detect_corpus_format(tokens_only) == "conll"
    with pytest.raises(CorpusFormatError, match="no such file"):
        detect_corpus_format(tmp_path / "missing.txt")


def test_corpus_sentences_read_tokens_on_every_pass(corpora_files: dict) -> None:
    text = CorpusSentences(corpora_files["text"])
    assert list(text)[:2] == [["the", "cat", "sat", "on", "the", "mat", "."], ["the", "dog", "sat", "on", "the", "log", "."]]
    assert len(list(text)) == 4  # restartable: gensim iterates once per epoch
    assert list(CorpusSentences(corpora_files["conll"])) == [["John", "lives", "in", "Paris"], ["the", "cat"]]
    assert list(CorpusSentences(corpora_files["conllu"], lowercase=True)) == [["the", "cat"]]
    with pytest.raises(ConfigError, match="corpus format"):
        CorpusSentences(corpora_files["text"], "xml")


def test_bad_utf8_corpus_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("one line\ncaf\xe9 au lait long enough to be text\n".encode("latin-1"))
    with pytest.raises(CorpusFormatError, match="UTF-8") as info:
        list(CorpusSentences(path, "text"))
    assert info.value.path == str(path) and info.value.line == 2
