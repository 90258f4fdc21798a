"""tagger.writers: the exact strings ``tagger tag`` writes for each output format, from a TaggedSentence."""

from __future__ import annotations

import io

import pytest

from tagger.results import InputSentence, ScoredPath
from tagger.schemes import Span
from tagger.tokenize import TokenizedSentence
from tagger.writers import WRITERS, to_conll, to_inline, to_jsonl, write_sentences

TEXT = "John  Smith lives in Paris .\n"
NER = InputSentence.from_tokenized(TokenizedSentence.from_line(TEXT), "in.tok").tagged(["B-PER", "I-PER", "O", "O", "B-LOC", "O"], "IOB2")
POS = InputSentence.from_tokens(["the", "cat"]).tagged(["DET", "NOUN"], "plain")


def test_conll_rows_and_the_input_columns() -> None:
    assert to_conll(NER) == "John\tB-PER\nSmith\tI-PER\nlives\tO\nin\tO\nParis\tB-LOC\n.\tO\n\n"
    columns = InputSentence.from_tokenized(TokenizedSentence.from_tokens(["Rome", "fell"]), "f", [["Rome", "fell"], ["NNP", "VBD"]])
    assert to_conll(columns.tagged(["B-LOC", "O"], "IOB2")) == "Rome\tNNP\tB-LOC\nfell\tVBD\tO\n\n"


def test_jsonl_is_one_line_with_the_file_first() -> None:
    assert to_jsonl(NER) == (
        '{"file": "in.tok", "tokens": ["John", "Smith", "lives", "in", "Paris", "."], '
        '"offsets": [[0, 4], [6, 11], [12, 17], [18, 20], [21, 26], [27, 28]], '
        '"tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "O"], '
        '"spans": [{"label": "PER", "start": 0, "end": 2, "start_char": 0, "end_char": 11, "text": "John  Smith"}, '
        '{"label": "LOC", "start": 4, "end": 5, "start_char": 21, "end_char": 26, "text": "Paris"}]}\n'
    )
    assert to_jsonl(InputSentence.from_tokens(["Zürich"]).tagged(["B-LOC"], "IOB2")).count("Zürich") == 2  # not \\u escapes


def test_inline_brackets_entities_and_slashes_plain_tags() -> None:
    assert to_inline(NER) == "[PER John Smith] lives in [LOC Paris] .\n"
    assert to_inline(POS) == "the/DET cat/NOUN\n"
    assert to_inline(InputSentence.from_tokens(["nothing", "here"]).tagged(["O", "O"], "IOB2")) == "nothing here\n"


def test_write_sentences_streams_in_the_chosen_format() -> None:
    out = io.StringIO()
    assert write_sentences(iter([NER, POS]), out, "inline") == 2
    assert out.getvalue() == "[PER John Smith] lives in [LOC Paris] .\nthe/DET cat/NOUN\n"
    assert list(WRITERS) == ["conll", "jsonl", "inline"]
    with pytest.raises(ValueError, match="output format must be one of conll, jsonl, inline"):
        write_sentences([NER], out, "html")


def test_jsonl_writes_scores_probabilities_and_nbest_when_present() -> None:
    sentence = InputSentence.from_tokens(["Rome"])
    scored = sentence.tagged(
        ["B-LOC"],
        "IOB2",
        [[0.25, 0.75]],
        labels=["O", "B-LOC"],
        span_scores={Span("LOC", 0, 1): 0.75},
        nbest=[ScoredPath(("B-LOC",), 1.5, 0.75)],
    )
    assert to_jsonl(scored) == (
        '{"tokens": ["Rome"], "offsets": null, "tags": ["B-LOC"], '
        '"spans": [{"label": "LOC", "start": 0, "end": 1, "start_char": null, "end_char": null, "text": "Rome", "score": 0.75}], '
        '"labels": ["O", "B-LOC"], "probs": [[0.25, 0.75]], "nbest": [{"tags": ["B-LOC"], "score": 1.5, "probability": 0.75}]}\n'
    )
    assert to_conll(scored) == to_conll(sentence.tagged(["B-LOC"], "IOB2")) and to_inline(scored) == "[LOC Rome]\n"
