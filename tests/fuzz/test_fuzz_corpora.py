"""Property-based fuzzing of the corpus readers (CoNLL columns, CoNLL-U) and ``corpora.load_corpus``.

Every input gives either the right sentences or a ``TaggerError`` (one line naming the file), never
another exception, and each example finishes within a bound. The default run takes a few seconds;
``-m slow`` runs many more examples.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.corpora import read_columns, read_conllu, read_sentences
from tagger.corpora.writers import format_columns
from tagger.errors import TaggerError
from tests.fuzz.limits import time_limit

FAST = settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=1500, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
SECONDS_PER_EXAMPLE = 20  # a hang fails the test instead of stalling the run


@contextlib.contextmanager
def corpus_file(data: bytes, name: str = "corpus.txt") -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        yield path


def read_or_error(reader, path: Path) -> list | TaggerError:
    """The sentences, or the TaggerError; anything else propagates and fails the test."""
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            return list(reader(path))
        except TaggerError as error:
            message = str(error)
            assert message.startswith(str(path)) and "\n" not in message, message
            return error


READERS = [read_columns, read_conllu, read_sentences]

# Tokens of any printable Unicode but the column separators, and tags like real ones.
ODD_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs"), blacklist_characters="\ufeff\x85"), min_size=1, max_size=12
)
TAGS = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "NN", "VB"])


@st.composite
def column_corpora(draw: st.DrawFn) -> tuple[bytes, list[list[list[str]]]]:
    """A well-formed column file and the sentences (columns) it holds."""
    width = draw(st.integers(2, 4))
    sentences = []
    for _ in range(draw(st.integers(1, 5))):
        length = draw(st.integers(1, 6))
        tokens = [t for t in draw(st.lists(ODD_TEXT, min_size=length, max_size=length))]
        columns = [tokens] + [draw(st.lists(TAGS, min_size=length, max_size=length)) for _ in range(width - 1)]
        if any(t.startswith("-DOCSTART-") for t in tokens):
            continue
        sentences.append(columns)
    separator = draw(st.sampled_from([" ", "\t"]))
    if separator == " ":
        sentences = [s for s in sentences if not any(" " in t for t in s[0])]
    if not sentences:
        sentences = [[["a"], ["O"]] + [["O"]] * (width - 2)]
    text = "\n".join(format_columns(columns, separator) for columns in sentences)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return text.replace("\n", newline).encode("utf-8"), sentences


@FAST
@given(st.binary(max_size=400), st.sampled_from(READERS))
def test_random_bytes(data: bytes, reader) -> None:
    with corpus_file(data) as path:
        result = read_or_error(reader, path)
        if isinstance(result, list):
            assert result, "a file without sentences is an error"
            for sentence in result:
                assert all(len(column) == len(sentence.tokens) for column in sentence.columns)
                assert sentence.first_line >= 1


@FAST
@given(column_corpora())
def test_well_formed_column_files_read_back_exactly(case: tuple[bytes, list]) -> None:
    data, sentences = case
    with corpus_file(data) as path:
        result = read_or_error(read_columns, path)
        assert not isinstance(result, TaggerError), result
        assert [list(map(list, s.columns)) for s in result] == sentences


@FAST
@given(column_corpora(), st.data())
def test_truncated_and_mutated_column_files(case: tuple[bytes, list], data: st.DataObject) -> None:
    raw, _ = case
    cut = data.draw(st.integers(0, len(raw)))
    mutated = bytearray(raw[:cut])
    for _ in range(data.draw(st.integers(0, 3))):
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    for reader in READERS:
        with corpus_file(bytes(mutated)) as path:
            read_or_error(reader, path)


@FAST
@given(st.lists(st.integers(1, 6), min_size=2, max_size=8))
def test_ragged_columns_name_the_first_bad_line(widths: list[int]) -> None:
    lines = [" ".join(["w"] + ["O"] * (n - 1)) for n in widths]
    with corpus_file(("\n".join(lines) + "\n").encode()) as path:
        result = read_or_error(read_columns, path)
        first_bad = next((i for i, n in enumerate(widths) if n != widths[0]), None)
        if first_bad is None:
            assert isinstance(result, list) and len(result[0].columns) == widths[0]
        else:
            assert isinstance(result, TaggerError) and result.line == first_bad + 1


@FAST
@given(st.sampled_from(["columns", "token", "lines"]), st.integers(1_000, 200_000))
def test_huge_columns_tokens_and_sentences_are_bounded(kind: str, size: int) -> None:
    if kind == "columns":
        data = (" ".join(["x"] * size) + "\n").encode()
    elif kind == "token":
        data = ("x" * size + " O\n").encode()
    else:
        data = "w O\n".encode() * (size // 10)
    with corpus_file(data) as path:
        result = read_or_error(read_columns, path)
        if kind == "lines" and size // 10 > 10_000:
            assert isinstance(result, TaggerError) and "max_sentence_length" in str(result)
        else:
            assert isinstance(result, list)


@st.composite
def conllu_lines(draw: st.DrawFn) -> bytes:
    """CoNLL-U-like lines: mostly well-formed word lines, with ranges, empty nodes, comments and junk."""
    lines = []
    word = 1
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["word", "word", "word", "range", "empty", "comment", "blank", "junk"]))
        if kind == "word":
            form = draw(ODD_TEXT)
            lines.append("\t".join([str(word), form, "_", draw(TAGS), "_", "_", "0", "root", "_", "_"]))
            word += 1
        elif kind == "range":
            lines.append("\t".join([f"{word}-{word + 1}", "x", *["_"] * 8]))
        elif kind == "empty":
            lines.append("\t".join([f"{max(word - 1, 0)}.1", "x", *["_"] * 8]))
        elif kind == "comment":
            lines.append("# " + draw(ODD_TEXT))
        elif kind == "blank":
            lines.append("")
            word = 1
        else:
            lines.append(draw(st.text(max_size=30)))
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


@FAST
@given(conllu_lines(), st.data())
def test_conllu_like_files(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data)))
    for payload in (data, data[:cut]):
        with corpus_file(payload, "corpus.conllu") as path:
            result = read_or_error(read_conllu, path)
            if isinstance(result, list):
                for sentence in result:
                    assert sentence.column("id") == [str(i) for i in range(1, len(sentence) + 1)]
                    assert len(sentence.columns) == 10


FUZZ_TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "L-LOC", "U-LOC", "X-PER", "NN"]


@st.composite
def tagged_files(draw: st.DrawFn) -> bytes:
    """Column files whose tags are random (valid or not in any scheme), sometimes damaged."""
    sentences = []
    for _ in range(draw(st.integers(1, 4))):
        length = draw(st.integers(1, 5))
        tags = draw(st.lists(st.sampled_from(FUZZ_TAGS), min_size=length, max_size=length))
        sentences.append("".join(f"w{i} {tag}\n" for i, tag in enumerate(tags)))
    raw = "\n".join(sentences).encode()
    return raw[: draw(st.integers(0, len(raw)))] if draw(st.booleans()) else raw


def _load(data: bytes, repair: bool) -> None:
    from tagger.corpora import load_corpus, tag_scheme
    from tagger.schemes import validate_tags

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "corpus.txt"
        path.write_bytes(data)
        with time_limit(SECONDS_PER_EXAMPLE):
            try:
                corpus = load_corpus(path, cache_dir=Path(directory) / "cache", repair_tags=repair)
            except TaggerError as error:
                assert str(error).startswith(str(path)) and "\n" not in str(error), str(error)
                return
        names = corpus["train"].features["tags"].feature.names
        scheme = tag_scheme(corpus)
        for row in corpus["train"]["tags"]:
            validate_tags([names[i] for i in row], scheme)  # what load_corpus returns is always valid


@pytest.fixture
def quiet_datasets():
    import datasets

    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tagged_files(), st.booleans())
def test_load_corpus_validates_or_repairs(quiet_datasets, data: bytes, repair: bool) -> None:
    _load(data, repair)


# ----------------------------------------------------------------------------- longer runs


@pytest.mark.slow
@SLOW
@given(st.binary(max_size=2000), st.sampled_from(READERS))
def test_random_bytes_long(data: bytes, reader) -> None:
    test_random_bytes.hypothesis.inner_test(data, reader)


@pytest.mark.slow
@SLOW
@given(column_corpora(), st.data())
def test_truncated_and_mutated_column_files_long(case: tuple[bytes, list], data: st.DataObject) -> None:
    test_truncated_and_mutated_column_files.hypothesis.inner_test(case, data)


@pytest.mark.slow
@SLOW
@given(conllu_lines(), st.data())
def test_conllu_like_files_long(data: bytes, draw: st.DataObject) -> None:
    test_conllu_like_files.hypothesis.inner_test(data, draw)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tagged_files(), st.booleans())
def test_load_corpus_validates_or_repairs_long(quiet_datasets, data: bytes, repair: bool) -> None:
    _load(data, repair)
