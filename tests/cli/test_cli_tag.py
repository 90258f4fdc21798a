"""Tests for ``tagger tag``: every input and output format, stdin, -o, several files, offsets, laziness."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, List

import pytest

from cli.tag import Item, read_items, tag_items
from tagger.tokenize import TokenizedSentence
from tests.cli.conftest import RAW_TEXT, Data, Trained, invoke


def jsonl(text: str) -> List[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_text_to_jsonl_spans_slice_the_original_file(ner_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.raw, "--model", ner_model.path, "--output", "jsonl"])
    assert result.exit_code == 0, result.output
    records = jsonl(result.stdout)
    original = data.raw.read_bytes().decode("utf-8")  # \r\n kept: offsets count every character
    assert original == RAW_TEXT
    assert [r["tokens"] for r in records] == [
        ["John", "Smith", "lives", "in", "Paris", "."],
        ["Rain", "fell", "on", "1996-08-22", "in", "London", "and", "Rome", "."],
        ["Peter", "Blackburn"],
    ]
    for record in records:
        assert record["file"] == str(data.raw) and len(record["tags"]) == len(record["tokens"])
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert original[start:end] == token
        for span in record["spans"]:
            assert original[span["start_char"] : span["end_char"]] == span["text"]
    spans = [(s["label"], s["text"], s["start"], s["end"]) for r in records for s in r["spans"]]
    assert spans == [
        ("PER", "John Smith", 0, 2),
        ("LOC", "Paris", 4, 5),
        ("LOC", "London", 5, 6),
        ("LOC", "Rome", 7, 8),
        ("PER", "Peter Blackburn", 0, 2),
    ]
    assert records[1]["offsets"][0][0] == original.index("Rain")  # after the \r\n


def test_text_to_conll_and_inline(ner_model: Trained, data: Data) -> None:
    conll = invoke(["tag", data.raw, "--model", ner_model.path])
    assert conll.exit_code == 0, conll.output
    blocks = conll.stdout.split("\n\n")
    assert blocks[0].splitlines() == ["John\tB-PER", "Smith\tI-PER", "lives\tO", "in\tO", "Paris\tB-LOC", ".\tO"]
    assert conll.stdout.endswith("\n\n") and len([b for b in blocks if b]) == 3
    inline = invoke(["tag", data.raw, "--model", ner_model.path, "--output", "inline"])
    assert inline.stdout.splitlines() == [
        "[PER John Smith] lives in [LOC Paris] .",
        "Rain fell on 1996-08-22 in [LOC London] and [LOC Rome] .",
        "[PER Peter Blackburn]",
    ]


def test_tokens_from_stdin_keep_offsets_into_the_input(ner_model: Trained, data: Data) -> None:
    text = data.tokens.read_text(encoding="utf-8")
    for args in (["-"], []):
        result = invoke(["tag", *args, "--input", "tokens", "--model", ner_model.path, "--output", "jsonl"], input=text)
        assert result.exit_code == 0, result.output
        records = jsonl(result.stdout)
        assert [r["file"] for r in records] == ["-", "-"]
        first = records[0]
        assert first["tokens"] == ["John", "Smith", "lives", "in", "Paris", "."]
        assert first["spans"][0] == {"label": "PER", "start": 0, "end": 2, "start_char": 0, "end_char": 11, "text": "John  Smith"}
        assert text[records[1]["offsets"][0][0] :].startswith("Mary flew")
    inline = invoke(["tag", "--input", "tokens", "--model", ner_model.path, "--output", "inline"], input="Peter Blackburn\n")
    assert inline.stdout == "[PER Peter Blackburn]\n"


def test_conll_input_keeps_its_columns_and_appends_the_prediction(ner_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.train, "--input", "conll", "--model", ner_model.path])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line]
    assert rows[0] == ["John", "NNP", "O", "B-PER", "B-PER"]
    assert all(len(row) == 5 for row in rows)
    assert sum(1 for row in rows if row[3] == row[4]) == len(rows)  # the model fits its training file
    as_json = jsonl(invoke(["tag", data.dev, "--input", "conll", "--model", ner_model.path, "--output", "jsonl"]).stdout)
    first = as_json[0]
    assert first["spans"][0] == {"label": "PER", "start": 0, "end": 2, "start_char": 0, "end_char": 10, "text": "John Smith"}
    assert first["offsets"][:2] == [[0, 4], [5, 10]]  # into " ".join(tokens)


def test_conllu_input_and_a_plain_tag_model(pos_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.conllu, "--input", "conll", "--model", pos_model.path, "--format", "conllu"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line]
    assert len(rows) == 12 and all(len(row) == 11 for row in rows)
    assert rows[0][:4] == ["1", "the", "the", "DET"]
    inline = invoke(["tag", "--input", "tokens", "--model", pos_model.path, "--output", "inline"], input="the cat sat\n")
    words = inline.stdout.split()
    assert [w.split("/")[0] for w in words] == ["the", "cat", "sat"] and all("/" in w for w in words)
    records = jsonl(invoke(["tag", "--input", "tokens", "--model", pos_model.path, "--output", "jsonl"], input="the cat sat\n").stdout)
    assert records[0]["spans"] == [] and len(records[0]["tags"]) == 3


def test_several_files_go_to_one_output_file_atomically(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "tagged.jsonl"
    result = invoke(["tag", data.raw, data.tokens, "--input", "text", "--model", ner_model.path, "--output", "jsonl", "-o", out])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    records = jsonl(out.read_text(encoding="utf-8"))
    assert [r["file"] for r in records] == [str(data.raw)] * 3 + [str(data.tokens)] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagged.jsonl"]
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the temporary file's 0600


def test_a_failed_run_leaves_no_partial_output(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine first line\nthen caf\xe9\n")
    out = tmp_path / "out.conll"
    out.write_text("previous result\n", encoding="utf-8")
    result = invoke(["tag", data.raw, bad, "--model", ner_model.path, "-o", out])
    assert result.exit_code == 2
    assert f"tagger: error: {bad}:2: not UTF-8" in result.stderr and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "out.conll"]


def test_tagging_is_lazy(ner_model: Trained) -> None:
    """The first tagged sentence comes out long before the input ends: a 1 GB file streams."""
    from tagger.inference import Tagger

    tagger = Tagger.load(ner_model.path, device="cpu")
    pulled = 0

    def items() -> Iterator[Item]:
        nonlocal pulled
        for _ in range(10_000):
            pulled += 1
            yield Item(TokenizedSentence.from_tokens(["John", "Smith", "lives", "in", "Paris", "."]), "-")

    pairs = tag_items(tagger, items(), batch_size=4, chunk_size=8)
    item, tags = next(pairs)
    assert tags == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"] and item.sentence.tokens[0] == "John"
    assert pulled <= 16
    assert sum(1 for _ in pairs) == 9_999


def test_readers_are_lazy(data: Data, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("John Smith lives in Paris.\n\n" * 20_000, encoding="utf-8")
    first = next(read_items([str(big)], "text"))
    assert first.sentence.tokens == ["John", "Smith", "lives", "in", "Paris", "."]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "xml"], "'xml' is not one of"),
        (["--output", "html"], "'html' is not one of"),
        (["--batch-size", "0"], "0 is not in the range"),
        (["--format", "conllu"], "--format applies to --input conll"),
        (["-", "-"], "stdin (-) can be read only once"),
    ],
)
def test_usage_errors(ner_model: Trained, args: List[str], message: str) -> None:
    result = invoke(["tag", *args, "--model", ner_model.path], input="x\n")
    assert result.exit_code == 2 and message in result.stderr


def test_help_has_examples() -> None:
    result = invoke(["tag", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "--output inline" in result.stdout
