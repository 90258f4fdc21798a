"""Readers, schemes and load_corpus over the real corpora in ../shared/data: counts as in its README."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tagger.corpora import read_sentences
from tagger.corpora.schemas import CHUNK_TAGS, CONLL2000_POS, CONLL2003_NER, CONLL2003_POS, UD_UPOS, WNUT17_NER
from tagger.schemes import detect_scheme, spans_from_tags, validate_tags

REPO = Path(__file__).resolve().parents[2]

# file -> (sentences, tokens), from shared/data/README.md ("words" = integer-ID lines for CoNLL-U)
COUNTS = {
    "conll2003/train.txt": (14_041, 203_621),
    "conll2003/dev.txt": (3_250, 51_362),
    "ud_en_ewt/train.conllu": (12_544, 204_577),
    "ud_en_ewt/dev.conllu": (2_001, 25_147),
    "wnut17/train.txt": (3_394, 62_730),
    "wnut17/dev.txt": (1_009, 15_733),
    "conll2000/train.txt": (8_936, 211_727),
}
SPLITS = {
    "conll2003": {"train": "train.txt", "validation": "dev.txt"},
    "ud_en_ewt": {"train": "train.conllu", "validation": "dev.conllu"},
    "wnut17": {"train": "train.txt", "validation": "dev.txt"},
    "conll2000": {"train": "train.txt"},
}
ENTITIES = {
    ("conll2003", "train"): {"PER": 6_600, "LOC": 7_140, "ORG": 6_321, "MISC": 3_438},
    ("conll2003", "validation"): {"PER": 1_842, "LOC": 1_837, "ORG": 1_341, "MISC": 922},
    ("wnut17", "train"): {"person": 660, "location": 548, "group": 264, "corporation": 221, "product": 142, "creative-work": 140},
    ("wnut17", "validation"): {"person": 470, "product": 114, "creative-work": 105, "location": 74, "group": 39, "corporation": 34},
}


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hf-cache")


@lru_cache(maxsize=None)
def _load(name: str, data_dir: str, cache_dir: str) -> Any:
    from tagger.corpora import load_corpus

    return load_corpus(name, data_dir, cache_dir=cache_dir)


def load(name: str, shared_data: Path, hf_cache: Path) -> Any:
    return _load(name, str(shared_data), str(hf_cache))


def tags(dataset: Any, column: str) -> list[list[str]]:
    names = dataset.features[column].feature.names
    return [[names[i] for i in row] for row in dataset[column]]


@pytest.mark.parametrize("relative", sorted(COUNTS))
def test_reader_counts(shared_data: Path, relative: str) -> None:
    sentences = tokens = 0
    for sentence in read_sentences(shared_data / relative):
        sentences += 1
        tokens += len(sentence.tokens)
    assert (sentences, tokens) == COUNTS[relative]


def test_conll2003_documents_and_iob1_b_tags(shared_data: Path) -> None:
    for relative, documents, b_tags in [
        ("conll2003/train.txt", 946, {"B-LOC": 11, "B-MISC": 37, "B-ORG": 24}),
        ("conll2003/dev.txt", 216, {"B-MISC": 4}),
    ]:
        sentences = list(read_sentences(shared_data / relative))
        assert len({s.document for s in sentences}) == documents
        counts = Counter(tag for s in sentences for tag in s.columns[3] if tag.startswith("B-"))
        assert counts == b_tags and "B-PER" not in counts


@pytest.mark.parametrize(
    "relative, column, scheme",
    [
        ("conll2003/train.txt", 3, "IOB1"),
        ("conll2003/train.txt", 2, "IOB1"),
        ("conll2003/dev.txt", 3, "IOB1"),
        ("conll2003/train.txt", 1, "plain"),
        ("wnut17/train.txt", 1, "IOB2"),
        ("wnut17/dev.txt", 1, "IOB2"),
        ("conll2000/train.txt", 2, "IOB2"),
        ("ud_en_ewt/dev.conllu", 3, "plain"),
        ("ud_en_ewt/dev.conllu", 4, "plain"),
    ],
)
def test_detect_scheme_on_real_columns(shared_data: Path, relative: str, column: int, scheme: str) -> None:
    assert detect_scheme(s.columns[column] for s in read_sentences(shared_data / relative)) == scheme


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_load_corpus_counts(shared_data: Path, hf_cache: Path, name: str) -> None:
    corpus = load(name, shared_data, hf_cache)
    assert sorted(corpus) == sorted(SPLITS[name])
    for split, file in SPLITS[name].items():
        dataset = corpus[split]
        assert (dataset.num_rows, sum(map(len, dataset["tokens"]))) == COUNTS[f"{name}/{file}"]


def test_label_orders_are_the_hubs(shared_data: Path, hf_cache: Path) -> None:
    conll2003 = load("conll2003", shared_data, hf_cache)["train"].features
    assert conll2003["ner_tags"].feature.names == list(CONLL2003_NER)
    assert conll2003["chunk_tags"].feature.names == list(CHUNK_TAGS)
    assert conll2003["pos_tags"].feature.names[:10] == ['"', "''", "#", "$", "(", ")", ",", ".", ":", "``"]
    assert conll2003["pos_tags"].feature.names == list(CONLL2003_POS) and "NN|SYM" in CONLL2003_POS
    conll2000 = load("conll2000", shared_data, hf_cache)["train"].features
    assert conll2000["pos_tags"].feature.names == list(CONLL2000_POS)
    assert conll2000["chunk_tags"].feature.names == list(CHUNK_TAGS)
    assert load("wnut17", shared_data, hf_cache)["train"].features["ner_tags"].feature.names == list(WNUT17_NER)
    assert load("ud_en_ewt", shared_data, hf_cache)["train"].features["upos"].feature.names == list(UD_UPOS)


def test_conll2003_converted_to_iob2(shared_data: Path, hf_cache: Path) -> None:
    from tagger.corpora import source_scheme, tag_scheme

    corpus = load("conll2003", shared_data, hf_cache)
    assert source_scheme(corpus) == "IOB1" and tag_scheme(corpus) == "IOB2"
    for split in ("train", "validation"):
        ner = tags(corpus[split], "ner_tags")
        for number, sentence in enumerate(ner):
            validate_tags(sentence, "IOB2", sentence=number)  # every entity starts with B-
        entities = Counter(span.label for sentence in ner for span in spans_from_tags(sentence, "IOB2"))
        assert entities == ENTITIES[("conll2003", split)]
        assert sum(tag.startswith("B-") for sentence in ner for tag in sentence) == sum(entities.values())
        for sentence in tags(corpus[split], "chunk_tags"):
            validate_tags(sentence, "IOB2")


def test_wnut17_entities(shared_data: Path, hf_cache: Path) -> None:
    corpus = load("wnut17", shared_data, hf_cache)
    for split in ("train", "validation"):
        entities = Counter(span.label for sentence in tags(corpus[split], "ner_tags") for span in spans_from_tags(sentence, "IOB2"))
        assert entities == ENTITIES[("wnut17", split)]


def test_ud_metadata(shared_data: Path, hf_cache: Path) -> None:
    train = load("ud_en_ewt", shared_data, hf_cache)["train"]
    first = train[0]
    assert first["idx"].endswith("-0001") and first["text"].startswith("Al-Zaman : American forces")
    assert len(first["tokens"]) == len(first["upos"]) == len(first["xpos"]) == len(first["head"])
    assert "_" not in {tag for row in tags(train, "upos") for tag in row}  # multiword lines are skipped


def test_python_c_prints_a_datasetdict(shared_data: Path, tmp_path: Path) -> None:
    code = f"import corpora; print(corpora.load_corpus('conll2003', data_dir={str(shared_data)!r}))"
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path), "PYTHONPATH": str(REPO), "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("DatasetDict({")
    assert "num_rows: 14041" in result.stdout and "num_rows: 3250" in result.stdout


@pytest.mark.slow
def test_conll2003_train_loads_in_under_3_seconds(shared_data: Path, tmp_path: Path) -> None:
    from tagger.corpora import load_corpus

    load_corpus({"train": shared_data / "wnut17" / "dev.txt"}, cache_dir=tmp_path / "warmup")  # imports, first use
    start = time.perf_counter()
    corpus = load_corpus("conll2003", split_files={"train": shared_data / "conll2003" / "train.txt"}, cache_dir=tmp_path / "cold")
    assert corpus["train"].num_rows == 14_041
    assert time.perf_counter() - start < 3.0
