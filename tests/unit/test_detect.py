"""Tests for corpora.detect: format detection from content and the read_sentences dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.corpora.detect import detect_format, read_sentences
from tagger.errors import ConfigError, CorpusFormatError

CONLLU = "# sent_id = 1\n# text = a b\n1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\n1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n2\tb\tb\tX\tX\t_\t1\tdep\t_\t_\n"
TEN_COLUMNS_NOT_CONLLU = "w\t" + "\t".join("O" * 9) + "\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        (CONLLU, "conllu"),
        ("\n\n# c\n8.1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n", "conllu"),
        ("-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\n", "conll"),
        ("@paul\tO\n\t\nit\tO\n", "conll"),
        ("# B-NP\n", "conll"),  # CoNLL-2000 has '#' tokens; a lone comment-like line is still not CoNLL-U
        (TEN_COLUMNS_NOT_CONLLU, "conll"),
        ("1 a a X X _ 0 root _ _\n", "conll"),  # spaces, not tabs
        ("", "conll"),
    ],
)
def test_detect_format(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "file"
    path.write_text(content, encoding="utf-8")
    assert detect_format(path) == expected


def test_detect_format_ignores_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"caf\xe9 O\n")
    assert detect_format(path) == "conll"  # the reader reports the bytes, with line and offset
    with pytest.raises(CorpusFormatError, match="not UTF-8"):
        list(read_sentences(path))


def test_read_sentences_dispatches(tmp_path: Path) -> None:
    conllu = tmp_path / "a.txt"
    conllu.write_text(CONLLU, encoding="utf-8")
    (sentence,) = read_sentences(conllu)
    assert sentence.tokens == ["a", "b"] and sentence.metadata["text"] == "a b"
    columns = tmp_path / "b.conllu"  # the extension does not matter, the content does
    columns.write_text("EU B-ORG\n", encoding="utf-8")
    assert [s.columns for s in read_sentences(columns)] == [(["EU"], ["B-ORG"])]
    assert [s.tokens for s in read_sentences(columns, "CoNLL")] == [["EU"]]
    with pytest.raises(CorpusFormatError, match="10 tab-separated"):
        list(read_sentences(columns, "conllu"))
    assert next(read_sentences(columns, "columns", column_names=["w", "t"])).column("t") == ["B-ORG"]


def test_read_sentences_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "a.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown corpus format 'xml'"):
        read_sentences(path, "xml")
    with pytest.raises(ConfigError, match="not CoNLL-U"):
        read_sentences(path, num_columns=3)
    with pytest.raises(CorpusFormatError, match="no such file"):
        read_sentences(tmp_path / "missing")
    with pytest.raises(CorpusFormatError, match="is a directory"):
        detect_format(tmp_path)


def test_utf16_and_links_through_read_sentences(tmp_path: Path) -> None:
    path = tmp_path / "utf16.conllu"
    path.write_bytes(CONLLU.encode("utf-16"))
    with pytest.raises(CorpusFormatError, match=r"utf16.conllu:1: UTF-16 text"):
        list(read_sentences(path))
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for call in (detect_format, read_sentences):
        with pytest.raises(CorpusFormatError, match="symbolic link loop"):
            call(loop)
