"""``tagger tag --workers N`` and ``tagger.parallel``: N processes, the same bytes as one, in input order, bounded memory."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator

import pytest

from tagger.corpora.inputs import read_inputs
from tagger.errors import ConfigError, ModelFileError
from tagger.parallel import iter_tag_parallel
from tagger.results import InputSentence
from tests.cli.conftest import Data, Trained, invoke


@pytest.mark.parametrize("output", [["--output", "conll"], ["--output", "jsonl", "--probs", "--nbest", "2"]])
def test_two_workers_write_the_bytes_one_writes(ner_model: Trained, data: Data, tmp_path: Path, output: list) -> None:
    big = tmp_path / "big.txt"
    big.write_text(data.raw.read_text(encoding="utf-8") * 30, encoding="utf-8")
    results = {}
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}"
        result = invoke(["tag", big, "--model", ner_model.path, "--workers", workers, "-o", out, *output])
        assert result.exit_code == 0, result.output
        results[workers] = out.read_bytes()
    assert results["1"] == results["2"] and results["1"].count(b"\n") >= 60  # 61 sentences


def counting(sentences: Iterator[InputSentence], seen: list) -> Iterator[InputSentence]:
    for sentence in sentences:
        seen.append(1)
        yield sentence


def test_chunks_come_back_in_input_order_with_bounded_read_ahead(ner_model: Trained, data: Data) -> None:
    sentences = list(read_inputs([str(data.raw)], "text")) * 20
    serial = list(iter_tag_parallel(ner_model.path, sentences, 1))
    seen: list = []
    stream = iter_tag_parallel(ner_model.path, counting(iter(sentences), seen), 2, chunk_sentences=3, threads=1)
    first = next(stream)
    assert first == serial[0]
    assert len(seen) <= 3 * 2 * 2 + 3  # at most 2 x workers chunks in flight, plus the one being refilled
    assert [first, *stream] == serial
    assert len(seen) == len(sentences)


def test_a_caller_that_stops_reading_stops_the_workers(ner_model: Trained, data: Data) -> None:
    sentences = itertools.cycle(read_inputs([str(data.raw)], "text"))  # endless
    stream = iter_tag_parallel(ner_model.path, sentences, 2, chunk_sentences=4, threads=1)
    assert len(list(itertools.islice(stream, 10))) == 10
    stream.close()  # returns: the queued chunks are cancelled, the pool is shut down


def test_bad_models_and_options_fail_before_any_worker_starts(tmp_path: Path, ner_model: Trained) -> None:
    with pytest.raises(ModelFileError, match="no such model directory"):
        next(iter_tag_parallel(tmp_path / "missing", [], 2))
    with pytest.raises(ConfigError, match="workers"):
        next(iter_tag_parallel(ner_model.path, [], 0))
    result = invoke(["tag", "-", "--model", ner_model.path, "--workers", "0"], input="John\n")
    assert result.exit_code == 2 and "--workers" in result.output
