"""corpora.inputs: the readers of what ``tagger tag`` tags, lazy, with offsets into the file and its source."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tagger.corpora.inputs import read_conll, read_inputs, read_text, read_token_lines
from tagger.errors import ConfigError, CorpusFormatError


def test_readers_are_lazy(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("John Smith lives in Paris.\n\n" * 20_000, encoding="utf-8")
    first = next(read_inputs([str(big)], "text"))
    assert first.tokens == ("John", "Smith", "lives", "in", "Paris", ".") and first.source == str(big)


def test_text_offsets_count_every_character_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "raw.txt"
    original = "\ufeffJohn lives in Paris.\r\nRain fell.\n"
    path.write_bytes(original.encode("utf-8"))
    text = original[1:]  # the byte-order mark is dropped, as a reader of the file expects
    sentences = list(read_text(str(path)))
    assert [s.tokens for s in sentences] == [("John", "lives", "in", "Paris", "."), ("Rain", "fell", ".")]
    for sentence in sentences:
        assert all(text[start:end] == token for token, (start, end) in zip(sentence.tokens, sentence.offsets))


def test_token_lines_keep_offsets_and_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text("John  Smith .\n\n  Mary\tflew\n", encoding="utf-8")
    first, second = read_token_lines(str(path))
    assert first.tokens == ("John", "Smith", ".") and first.offsets == ((0, 4), (6, 11), (12, 13)) and first.text == "John  Smith ."
    assert second.tokens == ("Mary", "flew") and second.offsets == ((17, 21), (22, 26))


def test_conll_keeps_its_columns_and_joined_offsets(tmp_path: Path) -> None:
    path = tmp_path / "dev.conll"
    path.write_text("John NNP B-PER\nSmith NNP I-PER\n\nRome NNP B-LOC\n", encoding="utf-8")
    first, second = read_conll(str(path))
    assert first.columns == (("John", "Smith"), ("NNP", "NNP"), ("B-PER", "I-PER"))
    assert first.offsets == ((0, 4), (5, 10)) and first.text == "John Smith" and second.tokens == ("Rome",)


def test_conll_from_stdin_names_stdin_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"John NNP B-PER\nSmith\n")))
    with pytest.raises(CorpusFormatError, match="<stdin>:2"):
        list(read_conll("-"))


def test_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\ncaf\xe9\n")
    with pytest.raises(CorpusFormatError, match=f"{path}:2: not UTF-8"):
        list(read_token_lines(str(path)))


def test_an_unknown_input_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="input format must be one of text, tokens, conll"):
        next(read_inputs(["x"], "xml"))
