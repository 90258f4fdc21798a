"""Tests for tagger.tokenize: syntok with the CoNLL-2003 adjustments, exact offsets, streaming (spans over the offsets: test_results.py)."""

from __future__ import annotations

import io
import unicodedata
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.tokenize import TokenizedSentence, split_stream, split_text

INVISIBLE = ("Cc", "Cf", "Zs", "Zl", "Zp")


def tokens_of(text: str) -> List[List[str]]:
    return [s.tokens for s in split_text(text)]


def assert_offsets_exact(text: str, sentences: List[TokenizedSentence]) -> None:
    """Every token slices the text back; tokens are in order and do not overlap; no visible character is lost."""
    previous_end = 0
    covered = set()
    for sentence in sentences:
        assert sentence.text == text[sentence.start_char : sentence.end_char]
        assert len(sentence.tokens) == len(sentence.offsets)
        for token, (start, end) in zip(sentence.tokens, sentence.offsets):
            assert text[start:end] == token
            assert start >= previous_end and end > start
            previous_end = end
            covered.update(range(start, end))
    # Only whitespace and invisible characters (controls, format characters) may fall between tokens.
    lost = [c for i, c in enumerate(text) if i not in covered and not c.isspace() and unicodedata.category(c) not in INVISIBLE]
    assert lost == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I don't know.", [["I", "do", "n't", "know", "."]]),
        ("It's John's car, isn't it?", [["It", "'s", "John", "'s", "car", ",", "is", "n't", "it", "?"]]),
        ("The U.S. economy grew.", [["The", "U.S.", "economy", "grew", "."]]),
        ("Rain fell on 1996-08-22 in London.", [["Rain", "fell", "on", "1996-08-22", "in", "London", "."]]),
        ("A New York-based co-operative e-mail firm.", [["A", "New", "York-based", "co-operative", "e-mail", "firm", "."]]),
        ("He said \"hello\" and 'bye'.", [["He", "said", '"', "hello", '"', "and", "'", "bye", "'", "."]]),
        ("See https://example.com/a?b=c&d=1 now.", [["See", "https://example.com/a?b=c&d=1", "now", "."]]),
        ("Mr. Smith met J. Doe at 5 a.m. today.", [["Mr.", "Smith", "met", "J.", "Doe", "at", "5", "a.m.", "today", "."]]),
        ("Costs $3.50 (approx.) or 3,000 at 50%.", [["Costs", "$", "3.50", "(", "approx.", ")", "or", "3,000", "at", "50", "%", "."]]),
        # Sentence-final abbreviation: split, as in CoNLL-2003 ("U.S" followed by ".").
        ("Talks with the U.S.", [["Talks", "with", "the", "U.S", "."]]),
        ("Wait... what? O'Neil in the '90s.", [["Wait", "...", "what", "?"], ["O'Neil", "in", "the", "'90s", "."]]),
        ("First one. Second one!\n\nThird", [["First", "one", "."], ["Second", "one", "!"], ["Third"]]),
        ("", []),
        ("  \n\n \t ", []),
    ],
)
def test_examples(text: str, expected: List[List[str]]) -> None:
    sentences = list(split_text(text))
    assert [s.tokens for s in sentences] == expected
    assert_offsets_exact(text, sentences)


def test_offsets_count_crlf_and_skip_invisible_characters() -> None:
    text = "\ufeffJohn  lives\r\nin Paris.\r\n\r\nMary\u00a0left."
    sentences = list(split_text(text))
    assert [s.tokens for s in sentences] == [["John", "lives", "in", "Paris", "."], ["Mary", "left", "."]]
    assert sentences[0].offsets[0] == (1, 5)  # the byte-order mark is a character of the string, not a token
    assert sentences[1].offsets[0] == (text.index("Mary"), text.index("Mary") + 4)
    assert sentences[0].text == "John  lives\r\nin Paris."
    assert_offsets_exact(text, sentences)


def test_paragraphs_never_share_a_sentence() -> None:
    assert tokens_of("no full stop here\n\nnext paragraph") == [["no", "full", "stop", "here"], ["next", "paragraph"]]


def test_split_text_rejects_bytes() -> None:
    with pytest.raises(TypeError):
        list(split_text(b"bytes"))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- streaming

DOCUMENT = (
    "John Smith lives in Paris. Mr. Jones doesn't.\n"
    "He moved to the U.S. in 1996-08-22 with New York-based Acme Corp.\n\n"
    '"Quoted," she said (twice).\r\n\r\n'
    "A last paragraph without a full stop"
)


def test_stream_equals_whole_text_when_paragraphs_fit() -> None:
    whole = list(split_text(DOCUMENT))
    assert list(split_stream(io.StringIO(DOCUMENT))) == whole
    assert list(split_stream(io.StringIO(DOCUMENT).readlines())) == whole  # an iterable of lines
    assert list(split_stream(io.StringIO(DOCUMENT), chunk_chars=120)) == whole  # cut at paragraph breaks only


@pytest.mark.parametrize("chunk_chars", [2, 5, 10, 16, 33])
def test_stream_with_tiny_chunks_keeps_offsets_exact(chunk_chars: int) -> None:
    sentences = list(split_stream(io.StringIO(DOCUMENT), chunk_chars=chunk_chars))
    assert_offsets_exact(DOCUMENT, sentences)
    if chunk_chars >= 10:  # words up to chunk_chars characters are never cut
        assert [t for s in sentences for t in s.tokens if t.isalpha()] == [t for s in split_text(DOCUMENT) for t in s.tokens if t.isalpha()]


def test_stream_is_lazy_and_bounded() -> None:
    """The first sentence comes out long before the input ends, and the held text stays small."""
    pulled = 0

    def lines():
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield f"Sentence number {i} is here. And another one follows\n"

    stream = split_stream(lines(), chunk_chars=4096)
    first = next(stream)
    assert first.tokens == ["Sentence", "number", "0", "is", "here", "."]
    assert pulled < 200


def test_stream_cuts_a_sentence_without_punctuation_or_breaks() -> None:
    text = " ".join(f"w{i}" for i in range(5000))
    sentences = list(split_stream(io.StringIO(text), chunk_chars=1000))
    assert len(sentences) > 1
    assert max(s.end_char - s.start_char for s in sentences) <= 1500 + 6  # held text: half a chunk + one read
    assert [t for s in sentences for t in s.tokens] == text.split()
    assert_offsets_exact(text, sentences)


def test_stream_rejects_bytes_pieces() -> None:
    with pytest.raises(TypeError, match="text"):
        list(split_stream([b"bytes\n"]))  # type: ignore[list-item]


# ----------------------------------------------------------------------------- property tests

WORDS = [
    "John",
    "Smith",
    "Paris",
    "U.S.",
    "don't",
    "it's",
    "New",
    "York-based",
    "1996-08-22",
    "3.5",
    "$",
    "Mr.",
    "e.g.",
    "O'Neil",
    "co-op",
    "naïve",
    "Zürich",
    "東京",
    "http://x.org/a?b=1",
    "50%",
    "(",
    ")",
    '"',
    "'",
    "...",
    ",",
    ".",
    "!",
    "?",
    ";",
    ":",
    "-",
    "--",
    "a",
    "I",
    "x_y",
    "\u00ad",
    "é",
]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\r\n", "\t", "\n\n", "\u00a0", "", ""]


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=40))
    return draw(st.sampled_from(["", " ", "\ufeff"])) + "".join(word + sep for word, sep in pieces)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_property_offsets_slice_the_text(text: str) -> None:
    assert_offsets_exact(text, list(split_text(text)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), st.integers(min_value=2, max_value=64))
def test_property_stream_offsets_slice_the_text(text: str, chunk_chars: int) -> None:
    assert_offsets_exact(text, list(split_stream(io.StringIO(text), chunk_chars=chunk_chars)))


# ----------------------------------------------------------------------------- sentences


def test_from_tokens_and_from_line() -> None:
    joined = TokenizedSentence.from_tokens(["New", "York", "."], start_char=5)
    assert joined.offsets == [(5, 8), (9, 13), (14, 15)] and joined.text == "New York ."
    line = TokenizedSentence.from_line("  New\tYork  .\n", start_char=100)
    assert line.tokens == ["New", "York", "."]
    assert line.offsets == [(102, 105), (106, 110), (112, 113)]
    assert line.surface(102, 110) == "New\tYork"
    assert TokenizedSentence.from_line(" \t\n") is None
    with pytest.raises(ValueError, match="outside"):
        line.surface(0, 5)
