"""tagger.results: TaggedSentence and TaggedSpan made from an InputSentence and its tags."""

from __future__ import annotations

import dataclasses
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.results import InputSentence, ScoredPath, ScoredSpan, TaggedSentence, TaggedSpan, input_sentences
from tagger.schemes import Span
from tagger.tokenize import TokenizedSentence, split_stream, split_text
from tests.unit.test_tokenize import texts

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_spans_carry_offsets_and_the_text_as_written() -> None:
    text = "Yesterday John  Smith\nvisited New York."
    (sentence,) = (InputSentence.from_tokenized(s, "in.txt") for s in split_text(text))
    tagged = sentence.tagged(["O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"], "BIO")
    assert tagged.spans == (TaggedSpan("PER", 1, 3, 10, 21, "John  Smith"), TaggedSpan("LOC", 4, 6, 30, 38, "New York"))
    assert tagged.scheme == "IOB2" and tagged.source == "in.txt" and tagged.text == text and tagged.offsets[1] == (10, 14)
    assert sentence.tagged(["NOUN"] * 7, "plain").spans == ()
    with pytest.raises(ValueError, match="expected 7 tags, got 1"):
        sentence.tagged(["O"], "IOB2")


def test_tokens_without_offsets() -> None:
    tagged = InputSentence.from_tokens(["New", "York", "is", "big"]).tagged(["B-LOC", "I-LOC", "O", "O"], "IOB2")
    assert tagged.offsets is None and tagged.text is None and tagged.source is None
    assert tagged.spans == (TaggedSpan("LOC", 0, 2, None, None, "New York"),)
    assert tagged.to_dict() == {
        "tokens": ["New", "York", "is", "big"],
        "offsets": None,
        "tags": ["B-LOC", "I-LOC", "O", "O"],
        "spans": [{"label": "LOC", "start": 0, "end": 2, "start_char": None, "end_char": None, "text": "New York"}],
    }
    with pytest.raises(TypeError, match="sequence of strings"):
        InputSentence.from_tokens(["New", 3])


def test_results_are_frozen_and_scores_are_room_for_later() -> None:
    tagged = InputSentence.from_tokens(["Rome"]).tagged(["B-LOC"], "IOB2", probs=[[0.1, 0.9]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        tagged.tags = ("O",)  # type: ignore[misc]
    assert hash(tagged) == hash(InputSentence.from_tokens(["Rome"]).tagged(["B-LOC"], "IOB2", probs=[[0.1, 0.9]]))
    assert tagged.to_dict()["probs"] == [[0.1, 0.9]]
    scored = dataclasses.replace(tagged.spans[0], score=0.75)
    assert scored.to_dict()["score"] == 0.75 and "score" not in tagged.spans[0].to_dict()


def test_offsets_must_match_the_tokens() -> None:
    with pytest.raises(ValueError, match="2 tokens need as many offsets"):
        InputSentence(("a", "b"), ((0, 1),), "a b")
    with pytest.raises(ValueError, match="the text they index"):
        InputSentence(("a",), ((0, 1),))


def test_input_sentences_reads_texts_tokens_and_sentences() -> None:
    given_sentence = InputSentence.from_tokenized(TokenizedSentence.from_tokens(["x"]))
    got = list(input_sentences(["Mary flew. Rome fell.", ["New", "York"], given_sentence, ("a",)]))
    assert [s.tokens for s in got] == [("Mary", "flew", "."), ("Rome", "fell", "."), ("New", "York"), ("x",), ("a",)]
    assert got[1].offsets[0] == (11, 15) and got[2].offsets is None
    assert [s.tokens for s in input_sentences("One. Two.")] == [("One", "."), ("Two", ".")]
    for bad in (b"bytes", [b"bytes"], [3]):
        with pytest.raises(TypeError):
            list(input_sentences(bad))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), st.randoms(use_true_random=False), st.sampled_from(["IOB1", "IOB2"]))
def test_property_spans_slice_the_original_text(text: str, rng, scheme: str) -> None:
    """Whatever the tags, every span's character offsets cut its surface form out of the original text."""
    for sentence in split_stream(io.StringIO(text), chunk_chars=32):
        tags = [rng.choice(TAGS) for _ in sentence.tokens]
        tagged: TaggedSentence = InputSentence.from_tokenized(sentence).tagged(tags, scheme)
        for span in tagged.spans:
            assert text[span.start_char : span.end_char] == span.text
            assert span.text.startswith(sentence.tokens[span.start]) and span.text.endswith(sentence.tokens[span.end - 1])
            assert span.label in ("PER", "LOC")


def test_scores_probabilities_and_nbest_paths_in_the_result() -> None:
    sentence = InputSentence.from_tokens(["New", "York", "is", "big"])
    tags = ["B-LOC", "I-LOC", "O", "O"]
    paths = [ScoredPath(tuple(tags), 3.5, 0.75), ScoredPath(("B-ORG", "I-ORG", "O", "O"), 2.0, 0.125)]
    probs = [[0.1, 0.9, 0.0], [0.2, 0.0, 0.8], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    tagged = sentence.tagged(tags, "IOB2", probs, labels=["O", "B-LOC", "I-LOC"], span_scores={Span("LOC", 0, 2): 0.5}, nbest=paths)
    assert tagged.spans[0].score == 0.5 and tagged.nbest == tuple(paths)
    record = tagged.to_dict()
    assert list(record) == ["tokens", "offsets", "tags", "spans", "labels", "probs", "nbest"]
    assert record["spans"][0]["score"] == 0.5 and record["labels"] == ["O", "B-LOC", "I-LOC"] and record["probs"][1] == [0.2, 0.0, 0.8]
    assert record["nbest"][1] == {"tags": ["B-ORG", "I-ORG", "O", "O"], "score": 2.0, "probability": 0.125}
    # A span missing from span_scores keeps no score; probs must have one row per token.
    assert sentence.tagged(tags, "IOB2", span_scores={Span("LOC", 0, 1): 0.5}).spans[0].score is None
    with pytest.raises(ValueError, match="expected 4 rows of probabilities, got 1"):
        sentence.tagged(tags, "IOB2", [[1.0]])


def test_a_scored_span_is_a_span_with_a_score() -> None:
    scored = ScoredSpan("PER", 0, 2, 0.9)
    assert isinstance(scored, Span) and (scored.label, scored.start, scored.end, scored.score) == ("PER", 0, 2, 0.9)
    assert scored != Span("PER", 0, 2)
    with pytest.raises(ValueError, match="start < end"):
        ScoredSpan("PER", 2, 2, 0.5)
