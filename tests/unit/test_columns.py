"""Tests for corpora.columns.read_columns (and the column writer) on tiny synthetic files."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from tagger.corpora.columns import Sentence, make_sentence, no_sentences_error, read_columns, too_long_error
from tagger.corpora.writers import format_columns, write_columns
from tagger.errors import ConfigError, CorpusFormatError


def write(tmp_path: Path, text: str, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_bytes(tmp_path: Path, data: bytes, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


CONLL2003_LIKE = """\
    -DOCSTART- -X- O O

    EU NNP I-NP I-ORG
    rejects VBZ I-VP O
    German JJ I-NP I-MISC

    Peter NNP I-NP I-PER
    Blackburn NNP I-NP I-PER

    -DOCSTART- -X- O O

    BRUSSELS NNP I-NP I-LOC
    1996-08-22 CD I-NP O"""  # no trailing newline, no trailing blank line


def test_conll2003_like_file(tmp_path: Path) -> None:
    path = write(tmp_path, CONLL2003_LIKE)
    sentences = list(read_columns(path))
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["BRUSSELS", "1996-08-22"]]
    assert [s.first_line for s in sentences] == [3, 7, 12]
    assert [s.document for s in sentences] == [0, 0, 1]
    first = sentences[0]
    assert first.columns == (["EU", "rejects", "German"], ["NNP", "VBZ", "JJ"], ["I-NP", "I-VP", "I-NP"], ["I-ORG", "O", "I-MISC"])
    assert first.columns[0] is first.tokens
    assert first.path == str(path)
    assert first.metadata == {} and first.column_names == ()
    assert len(first) == 3
    assert first.column(-1) == ["I-ORG", "O", "I-MISC"]


def test_whitespace_only_lines_end_sentences_and_tabs_keep_spaces(tmp_path: Path) -> None:
    # WNUT-17's train file ends sentences with lines holding a single tab.
    path = write_bytes(tmp_path, b"@paul\tO\nNew York\tB-location\n\t\n\nit\tO\n \t \nok\tO\n")
    sentences = list(read_columns(path))
    assert [s.tokens for s in sentences] == [["@paul", "New York"], ["it"], ["ok"]]
    assert [s.columns[1] for s in sentences] == [["O", "B-location"], ["O"], ["O"]]
    assert [s.first_line for s in sentences] == [1, 5, 7]


def test_space_separated_keeps_non_ascii_whitespace_inside_tokens(tmp_path: Path) -> None:
    path = write(tmp_path, "10\u00a0000 CD\nx  \t NN\n")
    assert [s.columns for s in read_columns(path)] == [(["10\u00a0000", "x"], ["CD", "NN"])]


def test_crlf_bom_and_repeated_blank_lines(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "\ufeffa O\r\nb O\r\n\r\n\r\n\r\nc B-X\r\n".encode("utf-8"))
    sentences = list(read_columns(path))
    assert [s.tokens for s in sentences] == [["a", "b"], ["c"]]
    assert sentences[1].columns[1] == ["B-X"]
    assert sentences[1].first_line == 6


def test_documents_counted_only_when_they_hold_sentences(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        a O

        -DOCSTART- -X- O O

        -DOCSTART- -X- O O
        b O
        -DOCSTART- -X- O O
        c O
        -DOCSTART- -X- O O
        """,
    )
    assert [(s.tokens, s.document) for s in read_columns(path)] == [(["a"], 0), (["b"], 1), (["c"], 2)]


def test_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "EU NNP I-ORG\n")
    (sentence,) = read_columns(path, column_names=["token", "pos", "ner"])
    assert sentence.column_names == ("token", "pos", "ner")
    assert sentence.column("ner") == ["I-ORG"]
    with pytest.raises(ConfigError, match="no column named 'chunk'"):
        sentence.column("chunk")
    with pytest.raises(ConfigError, match="num_columns=2"):
        read_columns(path, num_columns=2, column_names=["a", "b", "c"])


def test_is_lazy_and_streams(tmp_path: Path) -> None:
    path = write(tmp_path, "a O\n\nb O extra\n")
    sentences = read_columns(path)
    assert next(sentences).tokens == ["a"]  # the bad row further down is not read yet
    with pytest.raises(CorpusFormatError):
        next(sentences)


# --------------------------------------------------------------------------- bad input


def test_wrong_column_count_names_file_line_and_text(tmp_path: Path) -> None:
    path = write(tmp_path, "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\nGerman JJ I-MISC\n")
    with pytest.raises(CorpusFormatError) as info:
        list(read_columns(path))
    error = info.value
    assert (error.path, error.line) == (str(path), 4)
    assert str(error) == f"{path}:4: expected 4 columns (as on line 1), got 3: 'German JJ I-MISC'"


def test_missing_tag_column(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"EU\tB-ORG\nrejects\n")
    with pytest.raises(CorpusFormatError, match=r":2: expected 2 columns .*got 1: 'rejects'"):
        list(read_columns(path))


def test_num_columns_enforced_from_first_row(tmp_path: Path) -> None:
    path = write(tmp_path, "EU B-ORG\n")
    with pytest.raises(CorpusFormatError, match=r":1: expected 3 columns \(num_columns\), got 2"):
        list(read_columns(path, num_columns=3))


def test_long_lines_are_shortened_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "a O\n" + "x " * 500 + "\n")
    with pytest.raises(CorpusFormatError) as info:
        list(read_columns(path))
    assert len(str(info.value)) < 200 and "..." in str(info.value)


def test_sentence_longer_than_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"w{i} O\n" for i in range(6)))
    with pytest.raises(CorpusFormatError) as info:
        list(read_columns(path, max_sentence_length=5))
    assert info.value.line == 6
    assert "longer than max_sentence_length=5" in str(info.value)
    assert len(list(read_columns(path, max_sentence_length=6))[0]) == 6


def test_huge_sentence_fails_at_default_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "w O\n" * 100_000)
    with pytest.raises(CorpusFormatError, match=r":10001: sentence starting on line 1 is longer"):
        list(read_columns(path))


def test_nul_byte(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a O\nb\x00 O\n")
    with pytest.raises(CorpusFormatError, match=r":2: NUL byte at column 2"):
        list(read_columns(path))


def test_non_utf8_names_line_and_byte_offset(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a O\n\ncaf\xe9 O\n")
    with pytest.raises(CorpusFormatError) as info:
        list(read_columns(path))
    assert info.value.line == 3
    assert info.value.path == str(path)
    assert "byte 0xe9 at byte offset 8" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"-DOCSTART- -X- O O\n\n"])
def test_no_sentences(tmp_path: Path, content: bytes) -> None:
    path = write_bytes(tmp_path, content)
    with pytest.raises(CorpusFormatError, match="no sentences") as info:
        list(read_columns(path))
    assert info.value.path == str(path) and info.value.line is not None


def test_directory_and_missing_file_fail_at_call(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="is a directory") as info:
        read_columns(tmp_path)
    assert info.value.path == str(tmp_path)
    with pytest.raises(CorpusFormatError, match="no such file") as info:
        read_columns(tmp_path / "missing.txt")
    assert info.value.path == str(tmp_path / "missing.txt")


# --------------------------------------------------------------------------- writer


def test_write_columns_round_trip(tmp_path: Path) -> None:
    sentences = [(["EU", "rejects"], ["B-ORG", "O"], ["B-ORG", "B-PER"]), (["Hi"], ["O"], ["O"])]
    path = tmp_path / "out.txt"
    assert write_columns(path, sentences) == 2
    assert path.read_text(encoding="utf-8") == "EU B-ORG B-ORG\nrejects O B-PER\n\nHi O O\n\n"
    assert [s.columns for s in read_columns(path)] == [tuple(map(list, s)) for s in sentences]

    stream = io.StringIO()
    write_columns(stream, [(["New York"], ["B-LOC"])], separator="\t")
    assert stream.getvalue() == "New York\tB-LOC\n\n"
    with pytest.raises(ValueError, match="separator"):
        format_columns([["New York"], ["B-LOC"]])
    with pytest.raises(ValueError, match="different lengths"):
        format_columns([["a", "b"], ["O"]])


def test_sentence_is_frozen() -> None:
    sentence = Sentence(["a"], (["a"],), "x", 1)
    with pytest.raises(AttributeError):
        sentence.path = "y"  # type: ignore[misc]


# ----------------------------------------------------------------------------- encodings and links


@pytest.mark.parametrize(
    "encoding, name",
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_utf16_and_utf32_files_are_named_as_such(tmp_path: Path, encoding: str, name: str) -> None:
    text = "EU B-ORG\nrejects O\n"
    data = text.encode(encoding)
    if encoding.endswith(("-le", "-be")):
        data = "\ufeff".encode(encoding) + data  # a BOM, as Windows editors write
    path = write_bytes(tmp_path, data)
    with pytest.raises(CorpusFormatError) as info:
        list(read_columns(path))
    message = str(info.value)
    assert message.startswith(f"{path}:1: ") and name in message and "convert it to UTF-8" in message
    assert "\n" not in message


def test_utf16_without_bom_is_recognised_by_its_nul_bytes(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "EU B-ORG\nrejects O\n".encode("utf-16-le"))
    with pytest.raises(CorpusFormatError, match=r"corpus.txt:1: .*UTF-16 without a byte-order mark.*convert it to UTF-8"):
        list(read_columns(path))


def test_symlink_loop_and_broken_link_are_not_missing_files(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    with pytest.raises(CorpusFormatError, match=r"loop.txt: symbolic link loop"):
        read_columns(loop)
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "gone.txt")
    with pytest.raises(CorpusFormatError, match=r"dangling.txt: broken symbolic link \(to .*gone.txt, which does not exist\)"):
        read_columns(dangling)
    with pytest.raises(CorpusFormatError, match=r"nothing.txt: no such file"):
        read_columns(tmp_path / "nothing.txt")
    good = write(tmp_path, "EU B-ORG\n")
    link = tmp_path / "link.txt"
    link.symlink_to(good)
    assert [s.tokens for s in read_columns(link)] == [["EU"]]


def test_make_sentence_and_error_helpers() -> None:
    sentence = make_sentence([["1", "EU", "x"], ["2", "rejects", "y"]], 1, "f.conllu", 3, 2, {"sent_id": "a"}, ("id", "form", "tag"))
    assert sentence.columns == (["1", "2"], ["EU", "rejects"], ["x", "y"])
    assert sentence.tokens is sentence.columns[1]
    assert (sentence.path, sentence.first_line, sentence.document, sentence.metadata) == ("f.conllu", 3, 2, {"sent_id": "a"})
    error = too_long_error("f.txt", 9, 4, 5, "words")
    assert (error.message, error.line) == (
        "sentence starting on line 4 is longer than max_sentence_length=5 words (is a blank line missing between sentences?)",
        9,
    )
    assert (no_sentences_error("f.txt", 0, "only blank lines").message, no_sentences_error("f.txt", 0, "x").line) == (
        "no sentences (the file is empty)",
        1,
    )
    assert no_sentences_error("f.txt", 7, "only blank lines").message == "no sentences (only blank lines)"
