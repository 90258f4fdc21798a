"""``DatasetTagger`` and ``add_predictions`` in ``Dataset.map`` (num_proc=2) on a corpus from ``load_corpus``, against ``predict``."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, List

import pytest
from datasets import ClassLabel, Dataset, Sequence, Value
from datasets.fingerprint import Hasher

import tagger
from tagger import engines
from tagger.corpora import load_corpus
from tagger.datasets_map import DatasetTagger, add_predictions
from tagger.errors import ConfigError, ModelFileError
from tagger.evaluation import evaluate_tags
from tests.integration.tiny_models import train_ner
from tests.model.toy import NER_LABELS, SENTENCES

EXTRA = [("Peter Blackburn flew to Berlin .", "B-PER I-PER O O B-LOC O"), ("Smith said on Thursday .", "B-PER O O O O")]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_ner(tmp_path_factory.mktemp("map-model") / "ner")


@pytest.fixture()
def corpus(tmp_path: Path) -> Any:
    """A two-column CoNLL file read by load_corpus: train the toy corpus, validation those and two more, twice (16 rows)."""
    for name, sentences in (("train", SENTENCES), ("dev", (SENTENCES + EXTRA) * 2)):
        lines = [line for text, tags in sentences for line in [*(f"{w} {t}" for w, t in zip(text.split(), tags.split())), ""]]
        (tmp_path / f"{name}.conll").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = {"train": tmp_path / "train.conll", "validation": tmp_path / "dev.conll"}
    return load_corpus(files, cache_dir=tmp_path / "cache")


def names_of(split: Any, column: str) -> List[str]:
    return list(split.features[column].feature.names)


def test_predictions_are_the_datasets_own_class_label_ids(model: Path, corpus: Any) -> None:
    names = names_of(corpus["validation"], "tags")
    assert names != tagger.load(model).labels, "the dataset's label order must differ from the model's to test mapping by name"
    mapped = add_predictions(corpus, model, num_proc=2)  # a DatasetDict: both splits
    for split in ("train", "validation"):
        assert mapped[split].features["predictions"] == corpus[split].features["tags"]
        tokens = corpus[split]["tokens"]
        assert [[names[i] for i in row] for row in mapped[split]["predictions"]] == tagger.load(model).predict(tokens)
        assert mapped[split]["tags"] == corpus[split]["tags"]
    assert mapped["train"]["predictions"] == mapped["train"]["tags"], "a model that fits its training set predicts it"


def test_label_strings_without_a_class_label(model: Path, corpus: Any) -> None:
    split = corpus["validation"]
    mapped = split.map(DatasetTagger(model, output_column="pred", batch_size=3), batched=True, batch_size=4, num_proc=2)
    assert mapped["pred"] == tagger.load(model).predict(split["tokens"])
    strings = Dataset.from_dict({"words": split["tokens"], "gold": [[names_of(split, "tags")[i] for i in r] for r in split["tags"]]})
    mapped = add_predictions(strings, model, tag_column="gold", tokens_column="words")
    assert mapped.features["predictions"] == Sequence(Value("string"))
    assert mapped["predictions"] == tagger.load(model).predict(split["tokens"])


@pytest.mark.parametrize("num_proc", [None, 2])
def test_an_unknown_predicted_label_is_a_clear_error(model: Path, corpus: Any, num_proc: Any) -> None:
    narrow = Sequence(ClassLabel(names=["O", "B-PER", "I-PER"]))  # the model predicts B-LOC for Paris
    with pytest.raises(ConfigError, match=r"predicted 'B-LOC', which is not one of the column's labels \(O, B-PER, I-PER\)"):
        corpus["validation"].map(DatasetTagger(model, labels=narrow), batched=True, num_proc=num_proc)


def test_each_worker_loads_the_model_once(model: Path, corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "loads.txt"
    real = engines.load

    def counting_load(*args: Any, **kwargs: Any) -> Any:  # forked workers inherit the patch
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "load", counting_load)
    function = DatasetTagger(model, labels=corpus["validation"].features["tags"])
    mapped = corpus["validation"].map(function, batched=True, batch_size=2, num_proc=2, load_from_cache_file=False)
    pids = log.read_text(encoding="utf-8").split()
    assert pids[0] == str(os.getpid())  # the constructor's load, which checks the model
    assert len(pids) == 3 and len(set(pids)) == 3, f"one load in this process and one in each of 2 workers over 8 batches: {pids}"
    assert mapped["predictions"] == mapped.map(function, batched=True, batch_size=7)["predictions"]


def test_the_fingerprint_is_the_options_and_the_model_files(model: Path, corpus: Any, tmp_path: Path) -> None:
    first, second = DatasetTagger(model), DatasetTagger(model)
    assert Hasher.hash(first) == Hasher.hash(second)
    first({"tokens": [["John", "lives", "in", "Paris"]]})  # the loaded tagger is cached, and not hashed
    assert Hasher.hash(first) == Hasher.hash(second)
    assert Hasher.hash(DatasetTagger(model, output_column="other")) != Hasher.hash(second)
    split = corpus["validation"]
    once = split.map(DatasetTagger(model), batched=True, num_proc=2)
    again = split.map(DatasetTagger(model), batched=True, num_proc=2)
    assert once.cache_files and again.cache_files == once.cache_files, "an identical map is read from the cache"
    weights = model / "model.safetensors"
    stat = weights.stat()
    try:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as if retrained
        assert Hasher.hash(DatasetTagger(model)) != Hasher.hash(second)
        assert split.map(DatasetTagger(model), batched=True).cache_files != once.cache_files
    finally:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_the_pickle_holds_the_options_not_the_model(model: Path) -> None:
    function = DatasetTagger(model, labels=NER_LABELS)
    blob = pickle.dumps(function)
    assert len(blob) < 2000 < (model / "model.safetensors").stat().st_size
    restored = pickle.loads(blob)
    assert restored._tagger is None
    batch = {"tokens": [["John", "Smith", "lives", "in", "Paris", "."]]}
    assert restored(batch) == function(batch) == {"predictions": [[1, 2, 0, 0, 5, 0]]}


def test_evaluate_accepts_the_mapped_dataset(model: Path, corpus: Any) -> None:
    mapped = add_predictions(corpus, model, num_proc=2)
    report = tagger.evaluate(model, mapped, "tags", split="validation")
    names = names_of(mapped["validation"], "tags")
    decode = [[[names[i] for i in row] for row in mapped["validation"][column]] for column in ("tags", "predictions")]
    assert report.to_dict() == evaluate_tags(decode[0], decode[1], "IOB2").to_dict()
    assert report.sentences == 16 and report.f1 > 0.5


def test_evaluate_scores_a_predictions_column_without_tagging_again(model: Path, corpus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    mapped = add_predictions(corpus, model)
    expected = tagger.evaluate(model, mapped, "tags", split="validation").to_dict()
    loaded = tagger.load(model)
    monkeypatch.setattr(loaded, "predict", lambda *a, **k: pytest.fail("the predictions column is scored, the model not run"))
    assert tagger.evaluate(loaded, mapped, "tags", split="validation", predictions="predictions").to_dict() == expected
    strings = corpus["validation"].map(DatasetTagger(model), batched=True)  # label strings rather than ClassLabel ids
    assert tagger.evaluate(loaded, strings, "tags", predictions="predictions").to_dict() == expected
    with pytest.raises(ConfigError, match="tag column 'guesses' not in the dataset"):
        tagger.evaluate(loaded, mapped, "tags", split="validation", predictions="guesses")


def test_bad_models_and_columns_fail_clearly(model: Path, corpus: Any, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model directory"):
        DatasetTagger(tmp_path / "missing")
    with pytest.raises(ConfigError, match="batch_size"):
        DatasetTagger(model, batch_size=0)
    with pytest.raises(ConfigError, match="labels must be"):
        DatasetTagger(model, labels=Value("string"))
    with pytest.raises(ConfigError, match="no column 'words'"):
        corpus["validation"].map(DatasetTagger(model, tokens_column="words"), batched=True)
    with pytest.raises(ConfigError, match="tag column 'upos' not in the dataset"):
        add_predictions(corpus, model, tag_column="upos")
