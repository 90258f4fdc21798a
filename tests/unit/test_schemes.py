"""Tests for tagger.schemes: literal tables, invalid sequences, and property tests against seqeval."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from tagger.errors import ConfigError, InvalidTagSequence
from tagger.schemes import (
    SCHEMES,
    Span,
    allowed_transitions,
    convert_labels,
    convert_tags,
    detect_scheme,
    normalize_scheme,
    repair_tags,
    spans_from_tags,
    tags_from_spans,
    validate_tags,
)

ENTITY_SCHEMES = ("IOB1", "IOB2", "IOBES", "BILOU")
TYPES = ("PER", "LOC", "creative-work")
PROPERTY = settings(max_examples=200, deadline=None, database=None, derandomize=True)


def S(label: str, start: int, end: int) -> Span:
    return Span(label, start, end)


# --------------------------------------------------------------------------- normalize_scheme


@pytest.mark.parametrize(
    "name, expected",
    [
        ("IOB1", "IOB1"),
        ("iob", "IOB1"),
        ("IOB2", "IOB2"),
        ("bio", "IOB2"),
        ("BIO", "IOB2"),
        ("iobes", "IOBES"),
        ("BIOES", "IOBES"),
        ("bilou", "BILOU"),
        ("plain", "plain"),
        ("None", "plain"),
        ("POS", "plain"),
    ],
)
def test_normalize_scheme_aliases(name: str, expected: str) -> None:
    assert normalize_scheme(name) == expected


def test_normalize_scheme_unknown_names_value_and_choices() -> None:
    with pytest.raises(ConfigError) as info:
        normalize_scheme("BIOLU")
    message = str(info.value)
    assert "'BIOLU'" in message
    for scheme in SCHEMES:
        assert scheme in message


# --------------------------------------------------------------------------- spans_from_tags tables

SPAN_TABLE = [
    ("IOB2", [], []),
    ("IOB2", ["O", "O"], []),
    ("IOB2", ["B-PER", "I-PER", "O", "B-LOC"], [S("PER", 0, 2), S("LOC", 3, 4)]),
    ("IOB2", ["B-PER", "B-PER", "I-PER"], [S("PER", 0, 1), S("PER", 1, 3)]),
    ("IOB2", ["B-creative-work", "I-creative-work"], [S("creative-work", 0, 2)]),
    # lenient (conlleval): an I- that cannot continue starts an entity
    ("IOB2", ["O", "I-PER"], [S("PER", 1, 2)]),
    ("IOB2", ["I-PER", "I-PER", "O"], [S("PER", 0, 2)]),
    ("IOB2", ["B-PER", "I-LOC", "I-LOC"], [S("PER", 0, 1), S("LOC", 1, 3)]),
    ("IOB1", ["I-PER", "I-PER", "B-PER", "O", "I-LOC"], [S("PER", 0, 2), S("PER", 2, 3), S("LOC", 4, 5)]),
    ("IOB1", ["I-ORG", "I-LOC"], [S("ORG", 0, 1), S("LOC", 1, 2)]),
    ("IOB1", ["O", "B-MISC", "I-MISC"], [S("MISC", 1, 3)]),  # the two CoNLL-2003 slips
    ("IOBES", ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], [S("PER", 0, 1), S("LOC", 1, 4)]),
    ("IOBES", ["B-PER", "E-PER", "S-PER"], [S("PER", 0, 2), S("PER", 2, 3)]),
    ("IOBES", ["B-PER", "O"], [S("PER", 0, 1)]),
    ("IOBES", ["E-PER", "E-PER"], [S("PER", 0, 1), S("PER", 1, 2)]),
    ("IOBES", ["I-PER", "I-PER", "E-PER"], [S("PER", 0, 3)]),
    ("IOBES", ["B-PER", "I-PER", "I-LOC", "E-LOC"], [S("PER", 0, 2), S("LOC", 2, 4)]),
    ("BILOU", ["U-PER", "B-LOC", "I-LOC", "L-LOC", "O"], [S("PER", 0, 1), S("LOC", 1, 4)]),
    ("BILOU", ["B-PER", "L-PER", "U-PER"], [S("PER", 0, 2), S("PER", 2, 3)]),
    ("plain", ["NOUN", "VERB", "O", "PUNCT"], [S("NOUN", 0, 1), S("VERB", 1, 2), S("PUNCT", 3, 4)]),
]


@pytest.mark.parametrize("scheme, tags, spans", SPAN_TABLE)
def test_spans_from_tags_table(scheme: str, tags: list[str], spans: list[Span]) -> None:
    assert spans_from_tags(tags, scheme) == spans


def test_spans_from_tags_rejects_malformed_tags() -> None:
    with pytest.raises(InvalidTagSequence, match="token 1"):
        spans_from_tags(["O", "PER"], "IOB2")


# --------------------------------------------------------------------------- tags_from_spans tables

SPANS = [S("PER", 0, 2), S("PER", 2, 3), S("LOC", 4, 5), S("ORG", 5, 8)]
TAGS_TABLE = {
    "IOB1": ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "I-ORG", "O"],
    "IOB2": ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "I-ORG", "O"],
    "IOBES": ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG", "O"],
    "BILOU": ["B-PER", "L-PER", "U-PER", "O", "U-LOC", "B-ORG", "I-ORG", "L-ORG", "O"],
}


@pytest.mark.parametrize("scheme", ENTITY_SCHEMES)
def test_tags_from_spans_table(scheme: str) -> None:
    assert tags_from_spans(SPANS, 9, scheme) == TAGS_TABLE[scheme]
    assert tags_from_spans(list(reversed(SPANS)), 9, scheme) == TAGS_TABLE[scheme]
    assert spans_from_tags(TAGS_TABLE[scheme], scheme) == SPANS


@pytest.mark.parametrize("source, target", list(itertools.product(ENTITY_SCHEMES, repeat=2)))
def test_convert_tags_table(source: str, target: str) -> None:
    assert convert_tags(TAGS_TABLE[source], source, target) == TAGS_TABLE[target]


def test_tags_from_spans_plain_and_errors() -> None:
    assert tags_from_spans([S("NOUN", 1, 2)], 3, "plain") == ["O", "NOUN", "O"]
    with pytest.raises(ValueError, match="one token"):
        tags_from_spans([S("NOUN", 0, 2)], 3, "plain")
    with pytest.raises(ValueError, match="overlaps"):
        tags_from_spans([S("PER", 0, 2), S("LOC", 1, 3)], 3, "IOB2")
    with pytest.raises(ValueError, match="ends after"):
        tags_from_spans([S("PER", 2, 4)], 3, "IOB2")
    with pytest.raises(ValueError):
        Span("PER", 2, 2)


def test_plain_conversions() -> None:
    assert convert_tags(["NOUN", "VERB"], "pos", "plain") == ["NOUN", "VERB"]
    with pytest.raises(ConfigError, match="plain"):
        convert_tags(["B-PER"], "IOB2", "plain")
    with pytest.raises(ConfigError, match="plain"):
        convert_tags(["NOUN"], "plain", "IOBES")


# --------------------------------------------------------------------------- validate_tags

VALID = [
    ("IOB2", ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]),
    ("IOB1", ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]),
    ("IOBES", ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-PER", "E-PER"]),
    ("BILOU", ["U-PER", "B-LOC", "I-LOC", "L-LOC", "O"]),
    ("plain", ["NOUN", "B-PER", "whatever"]),
    ("IOB2", []),
]

INVALID = [
    ("IOB2", ["I-PER"], "token 0: I-PER starts the sentence (IOB2)"),
    ("IOB2", ["O", "I-PER"], "token 1: I-PER follows O (IOB2)"),
    ("IOB2", ["B-LOC", "I-PER"], "token 1: I-PER follows B-LOC (IOB2)"),
    ("IOB2", ["E-PER"], "token 0: 'E-PER' is not a valid IOB2 tag"),
    ("IOB2", ["O", "PER"], "token 1: 'PER' is not a valid IOB2 tag"),
    ("IOB1", ["B-PER"], "token 0: B-PER starts the sentence (IOB1)"),
    ("IOB1", ["O", "B-PER"], "token 1: B-PER follows O (IOB1)"),
    ("IOB1", ["I-LOC", "B-PER"], "token 1: B-PER follows I-LOC (IOB1)"),
    ("IOBES", ["B-PER"], "token 0: B-PER ends the sentence (IOBES)"),
    ("IOBES", ["I-PER", "E-PER"], "token 0: I-PER starts the sentence (IOBES)"),
    ("IOBES", ["B-PER", "O"], "token 1: O follows B-PER (IOBES)"),
    ("IOBES", ["S-PER", "I-PER", "E-PER"], "token 1: I-PER follows S-PER (IOBES)"),
    ("IOBES", ["B-PER", "E-LOC"], "token 1: E-LOC follows B-PER (IOBES)"),
    ("IOBES", ["U-PER"], "token 0: 'U-PER' is not a valid IOBES tag"),
    ("BILOU", ["B-PER", "I-PER"], "token 1: I-PER ends the sentence (BILOU)"),
    ("BILOU", ["B-PER", "U-PER"], "token 1: U-PER follows B-PER (BILOU)"),
    ("BILOU", ["S-PER"], "token 0: 'S-PER' is not a valid BILOU tag"),
]


@pytest.mark.parametrize("scheme, tags", VALID)
def test_validate_accepts_valid(scheme: str, tags: list[str]) -> None:
    validate_tags(tags, scheme)
    assert repair_tags(tags, scheme) == tags


@pytest.mark.parametrize("scheme, tags, message", INVALID)
def test_validate_rejects_invalid(scheme: str, tags: list[str], message: str) -> None:
    with pytest.raises(InvalidTagSequence) as info:
        validate_tags(tags, scheme)
    assert str(info.value) == message


def test_validate_message_names_sentence_token_pair_and_path() -> None:
    with pytest.raises(InvalidTagSequence) as info:
        validate_tags(["O", "O", "B-LOC", "I-PER"], "BIO", sentence=12, path="train.txt")
    assert info.value.message == "sentence 12, token 3: I-PER follows B-LOC (IOB2)"
    assert str(info.value) == "train.txt: sentence 12, token 3: I-PER follows B-LOC (IOB2)"


@pytest.mark.parametrize(
    "scheme, tags, repaired",
    [
        ("IOB2", ["O", "I-PER", "I-PER"], ["O", "B-PER", "I-PER"]),
        ("IOB2", ["B-PER", "I-LOC"], ["B-PER", "B-LOC"]),
        ("IOB1", ["O", "B-MISC", "I-MISC"], ["O", "I-MISC", "I-MISC"]),
        ("IOBES", ["B-PER", "O", "I-LOC"], ["S-PER", "O", "S-LOC"]),
        ("IOBES", ["I-PER", "I-PER"], ["B-PER", "E-PER"]),
        ("BILOU", ["B-PER", "I-PER"], ["B-PER", "L-PER"]),
        ("IOBES", ["E-PER", "S-LOC", "L-LOC"], ["S-PER", "S-LOC", "S-LOC"]),
    ],
)
def test_repair_table(scheme: str, tags: list[str], repaired: list[str]) -> None:
    assert repair_tags(tags, scheme) == repaired
    validate_tags(repaired, scheme)


# --------------------------------------------------------------------------- detect_scheme


def test_detect_scheme() -> None:
    assert detect_scheme([["NOUN", "VERB"], ["PUNCT"]]) == "plain"
    assert detect_scheme([["O", "O"], []]) == "plain"
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER", "B-PER", "O"]]) == "IOB1"
    assert detect_scheme([["S-PER", "O"], ["B-PER", "E-PER"]]) == "IOBES"
    assert detect_scheme([["U-PER", "O"], ["B-PER", "L-PER"]]) == "BILOU"
    # One annotation slip (B- after O) does not turn an IOB1 corpus into IOB2, nor the other way round.
    assert detect_scheme([["I-PER", "O", "I-LOC"], ["O", "B-MISC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "O", "B-LOC"], ["O", "I-MISC"]]) == "IOB2"
    assert detect_scheme(iter([["I-PER"], ["B-PER"]])) in ("IOB1", "IOB2")  # a generator is fine


# --------------------------------------------------------------------------- label sets and transitions


def test_convert_labels() -> None:
    labels = ["O", "I-PER", "B-LOC", "I-LOC", "I-PER"]
    assert convert_labels(labels, "IOB1", "IOB2") == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert convert_labels(labels, "IOB1", "IOBES") == ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    assert convert_labels(["U-PER"], "BILOU", "BILOU") == ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
    assert convert_labels(["NOUN", "VERB", "NOUN"], "plain", "plain") == ["NOUN", "VERB"]
    with pytest.raises(ConfigError, match="'S-PER'"):
        convert_labels(["S-PER"], "IOB2", "IOBES")
    with pytest.raises(ConfigError):
        convert_labels(["NOUN"], "plain", "IOB2")


def test_allowed_transitions_iob2_literal() -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    start, allowed, end = allowed_transitions(labels, "IOB2")
    assert start == [True, True, False, True, False]
    assert end == [True] * 5
    assert allowed == [
        # to:  O     B-PER  I-PER  B-LOC  I-LOC
        [True, True, False, True, False],  # from O
        [True, True, True, True, False],  # from B-PER
        [True, True, True, True, False],  # from I-PER
        [True, True, False, True, True],  # from B-LOC
        [True, True, False, True, True],  # from I-LOC
    ]


def test_allowed_transitions_iob1_and_iobes_literal() -> None:
    labels = ["O", "B-PER", "I-PER", "I-LOC"]
    start, allowed, end = allowed_transitions(labels, "IOB1")
    assert start == [True, False, True, True]
    assert [row[1] for row in allowed] == [False, True, True, False]  # B-PER only after B-PER/I-PER
    assert all(row[2] and row[3] for row in allowed)  # I- anywhere
    assert end == [True] * 4

    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    start, allowed, end = allowed_transitions(labels, "IOBES")
    assert start == [True, True, False, False, True]
    assert end == [True, False, False, True, True]
    assert allowed[1] == [False, False, True, True, False]  # after B-PER: I-PER, E-PER
    assert allowed[3] == [True, True, False, False, True]  # after E-PER: O, B, S


def test_allowed_transitions_plain_and_bad_labels() -> None:
    start, allowed, end = allowed_transitions(["NOUN", "VERB"], "plain")
    assert start == [True, True] and end == [True, True] and allowed == [[True, True], [True, True]]
    with pytest.raises(ConfigError, match="'E-PER'"):
        allowed_transitions(["O", "E-PER"], "IOB2")
    with pytest.raises(ConfigError, match="'PER'"):
        allowed_transitions(["O", "PER"], "BILOU")


# --------------------------------------------------------------------------- property tests


@st.composite
def span_sets(draw: st.DrawFn) -> tuple[list[Span], int]:
    """Random non-overlapping spans (adjacent same-type spans included) and a sentence length."""
    spans = []
    position = 0
    for _ in range(draw(st.integers(0, 5))):
        position += draw(st.integers(0, 2))
        length = draw(st.integers(1, 3))
        spans.append(Span(draw(st.sampled_from(TYPES)), position, position + length))
        position += length
    return spans, position + draw(st.integers(0, 2))


def _labels(scheme: str) -> list[str]:
    return convert_labels([f"B-{t}" for t in TYPES], "IOB2", scheme)


def _allowed(tags: list[str], scheme: str) -> bool:
    labels = _labels(scheme)
    start, allowed, end = allowed_transitions(labels, scheme)
    ids = [labels.index(tag) for tag in tags]
    if not ids:
        return True
    return start[ids[0]] and end[ids[-1]] and all(allowed[i][j] for i, j in zip(ids, ids[1:]))


@PROPERTY
@given(span_sets())
def test_spans_round_trip_through_every_scheme(case: tuple[list[Span], int]) -> None:
    spans, length = case
    for scheme in ENTITY_SCHEMES:
        tags = tags_from_spans(spans, length, scheme)
        assert len(tags) == length
        validate_tags(tags, scheme)
        assert spans_from_tags(tags, scheme) == spans
        assert _allowed(tags, scheme)
        assert repair_tags(tags, scheme) == tags
        assert set(tags) <= set(_labels(scheme))
        for target in ENTITY_SCHEMES:
            converted = convert_tags(tags, scheme, target)
            assert converted == tags_from_spans(spans, length, target)
            assert spans_from_tags(converted, target) == spans


@PROPERTY
@given(st.sampled_from(ENTITY_SCHEMES), st.data())
def test_validate_agrees_with_allowed_transitions_and_repair(scheme: str, data: st.DataObject) -> None:
    tags = data.draw(st.lists(st.sampled_from(_labels(scheme)), max_size=8))
    try:
        validate_tags(tags, scheme)
        valid = True
    except InvalidTagSequence:
        valid = False
    assert valid == _allowed(tags, scheme)
    repaired = repair_tags(tags, scheme)
    validate_tags(repaired, scheme)
    assert spans_from_tags(repaired, scheme) == spans_from_tags(tags, scheme)
    if valid:
        assert repaired == tags


SEQEVAL_LABELS = {
    "IOB2": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    "IOB1": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    "IOBES": ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC"],
}


@PROPERTY
@given(st.sampled_from(sorted(SEQEVAL_LABELS)), st.data())
def test_spans_match_seqeval_get_entities(scheme: str, data: st.DataObject) -> None:
    tags = data.draw(st.lists(st.sampled_from(SEQEVAL_LABELS[scheme]), max_size=10))
    expected = [Span(label, start, end + 1) for label, start, end in get_entities(list(tags))]
    assert spans_from_tags(tags, scheme) == expected
