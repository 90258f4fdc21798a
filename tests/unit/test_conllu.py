"""Tests for corpora.conllu.read_conllu (and the CoNLL-U writer) on tiny synthetic files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tagger.corpora.conllu import CONLLU_COLUMNS, read_conllu
from tagger.corpora.writers import format_conllu, write_conllu
from tagger.errors import CorpusFormatError


def write(tmp_path: Path, text: str, name: str = "corpus.conllu") -> Path:
    """Write ``text`` with every run of 2+ spaces between fields turned into a tab."""
    lines = []
    for line in textwrap.dedent(text).splitlines(keepends=True):
        lines.append(line if line.startswith("#") else "\t".join(line.rstrip("\n").split("  ")) + "\n")
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


EWT_LIKE = """\
    # newdoc id = doc-1
    # sent_id = s1
    # text = I don't know.
    1  I  I  PRON  PRP  Case=Nom  4  nsubj  4:nsubj  _
    2-3  don't  _  _  _  _  _  _  _  _
    2  do  do  AUX  VBP  Mood=Ind  4  aux  4:aux  _
    3  n't  not  PART  RB  _  4  advmod  4:advmod  _
    4  know  know  VERB  VB  VerbForm=Inf  0  root  0:root  SpaceAfter=No
    4.1  knows  know  VERB  VBZ  _  _  _  4:conj  _
    5  .  .  PUNCT  .  _  4  punct  4:punct  _

    # sent_id = s2
    # newpar
    1  New York  New York  PROPN  NNP  _  0  root  0:root  _

    # newdoc id = doc-2
    # sent_id = s3
    1  Hi  hi  INTJ  UH  _  0  root  0:root  _
    """


def test_ewt_like_file(tmp_path: Path) -> None:
    path = write(tmp_path, EWT_LIKE)
    sentences = list(read_conllu(path))
    assert [s.tokens for s in sentences] == [["I", "do", "n't", "know", "."], ["New York"], ["Hi"]]
    first = sentences[0]
    assert first.metadata == {"newdoc id": "doc-1", "sent_id": "s1", "text": "I don't know."}
    assert first.column_names == CONLLU_COLUMNS
    assert first.column("id") == ["1", "2", "3", "4", "5"]
    assert first.column("upos") == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert first.column("xpos") == ["PRP", "VBP", "RB", "VB", "."]
    assert first.column("lemma") == ["I", "do", "not", "know", "."]
    assert first.column("feats")[0] == "Case=Nom"
    assert first.column("misc")[3] == "SpaceAfter=No"
    assert first.columns[1] is first.tokens
    assert [s.first_line for s in sentences] == [4, 14, 18]
    assert sentences[1].metadata == {"sent_id": "s2", "newpar": ""}
    assert [s.document for s in sentences] == [0, 0, 1]


def test_last_sentence_without_blank_line_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.conllu"
    path.write_bytes(b"1\ta\ta\tX\tX\t_\t0\troot\t_\t_\r\n\r\n1\tb\tb\tX\tX\t_\t0\troot\t_\t_")
    assert [s.tokens for s in read_conllu(path)] == [["a"], ["b"]]


@pytest.mark.parametrize(
    "line, message",
    [
        ("1  a  a  X  X  _  0  root  _", r":2: expected 10 tab-separated CoNLL-U columns, got 9"),
        ("1  a  a  X  X  _  0  root  _  _  _", r":2: expected 10 tab-separated CoNLL-U columns, got 11"),
        ("x  a  a  X  X  _  0  root  _  _", r":2: bad ID 'x'"),
        ("3  a  a  X  X  _  0  root  _  _", r":2: word ID 3 where 1 was expected"),
    ],
)
def test_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "# sent_id = 1\n" + line + "\n")
    with pytest.raises(CorpusFormatError, match=message) as info:
        list(read_conllu(path))
    assert info.value.path == str(path) and info.value.line == 2


def test_missing_blank_line_between_sentences(tmp_path: Path) -> None:
    path = write(tmp_path, "1  a  a  X  X  _  0  root  _  _\n1  b  b  X  X  _  0  root  _  _\n")
    with pytest.raises(CorpusFormatError, match=r":2: word ID 1 where 2 was expected"):
        list(read_conllu(path))


def test_comment_inside_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "1  a  a  X  X  _  0  root  _  _\n# late = comment\n")
    with pytest.raises(CorpusFormatError, match=r":2: comment inside a sentence"):
        list(read_conllu(path))


def test_space_separated_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.conllu"
    path.write_text("1 a a X X _ 0 root _ _\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r":1: expected 10 tab-separated CoNLL-U columns, got 1"):
        list(read_conllu(path))


def test_sentence_longer_than_limit(tmp_path: Path) -> None:
    text = "".join(f"{i}  w  w  X  X  _  0  dep  _  _\n" for i in range(1, 5))
    path = write(tmp_path, text)
    with pytest.raises(CorpusFormatError, match=r":4: sentence starting on line 1 is longer than max_sentence_len"):
        list(read_conllu(path, max_sentence_length=3))


def test_nul_and_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "nul.conllu"
    path.write_bytes(b"# a = b\n1\ta\x00\ta\tX\tX\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusFormatError, match=r":2: NUL byte"):
        list(read_conllu(path))
    path = tmp_path / "latin1.conllu"
    path.write_bytes(b"# text = caf\xe9\n1\tcaf\xe9\tx\tX\tX\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusFormatError, match=r":1: not UTF-8: byte 0xe9 at byte offset 12"):
        list(read_conllu(path))


@pytest.mark.parametrize("content", ["", "# only = comments\n\n"])
def test_no_sentences(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.conllu"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="no sentences"):
        list(read_conllu(path))


def test_directory_and_missing(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="is a directory"):
        read_conllu(tmp_path)
    with pytest.raises(CorpusFormatError, match="no such file"):
        read_conllu(tmp_path / "nope.conllu")


def test_write_conllu_round_trip_with_replaced_column(tmp_path: Path) -> None:
    sentences = list(read_conllu(write(tmp_path, EWT_LIKE)))
    out = tmp_path / "pred.conllu"
    predicted = [{"upos": ["X"] * len(s)} for s in sentences]
    assert write_conllu(out, sentences, predicted) == 3
    again = list(read_conllu(out))
    assert [s.tokens for s in again] == [s.tokens for s in sentences]
    assert [s.metadata for s in again] == [s.metadata for s in sentences]
    assert again[0].column("upos") == ["X"] * 5
    assert again[0].column("xpos") == sentences[0].column("xpos")
    with pytest.raises(ValueError, match="2 values"):
        format_conllu(sentences[0], {"upos": ["X", "Y"]})


def test_utf16_conllu_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "corpus.conllu"
    path.write_bytes("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n".encode("utf-16"))
    with pytest.raises(CorpusFormatError, match=r"corpus.conllu:1: UTF-16 text .*convert it to UTF-8"):
        list(read_conllu(path))
