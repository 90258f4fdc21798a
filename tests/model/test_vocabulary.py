"""A trained model's vocabulary comes from its training data and its vector file, never from the
data it is evaluated on; words the file knows keep their pretrained vectors in the saved model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
import torch
from datasets import DatasetDict
from safetensors.numpy import load_file

import tagger
from tests.model.toy import SENTENCES, TINY, toy_dataset

DIM = 8
# Lowercase, as the default (lowercase_words) vocabulary looks words up: some training words, then
# words of no training sentence: "zurich" and "geneva" go into the dev file below, "basel" nowhere.
FILE_WORDS = ["the", "in", ".", "paris", "zurich", "john", "geneva", "berlin", "basel", "london", "rome"]
NEW_DEV_SENTENCE = ("Anna flew from Zurich to Geneva .", "B-PER O O B-LOC O B-LOC O")


def quiet(_line: str) -> None:
    """A log that prints nothing."""


@pytest.fixture
def vectors(tmp_path: Path) -> Dict[str, np.ndarray]:
    """A GloVe file of FILE_WORDS in tmp_path; returns each word's vector."""
    rng = np.random.default_rng(0)
    table = {word: rng.standard_normal(DIM).astype(np.float32) for word in FILE_WORDS}
    lines = [" ".join([word, *(repr(float(x)) for x in vector)]) for word, vector in table.items()]
    (tmp_path / "glove.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def train(tmp_path: Path, name: str, dataset: Any = None, **options: Any) -> tagger.Tagger:
    """A one-epoch run on the toy corpus with the GloVe file (one epoch: the dev score picks nothing)."""
    dd = toy_dataset() if dataset is None else dataset
    return tagger.train(
        dd, "ner_tags", tmp_path / name, embeddings=str(tmp_path / "glove.txt"), log=quiet, **{**TINY, "max_epochs": 1, **options}
    )


def with_new_dev_words() -> DatasetDict:
    """The toy corpus whose dev split also holds a sentence of words no training sentence has."""
    return DatasetDict({"train": toy_dataset()["train"], "validation": toy_dataset(SENTENCES + [NEW_DEV_SENTENCE])["validation"]})


def training_words() -> List[str]:
    """The default training vocabulary: lowercase forms by falling count, then alphabetically."""
    from collections import Counter

    counts = Counter(word.lower() for text, _ in SENTENCES for word in text.split())
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def words(model_dir: Path) -> List[str]:
    return json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))["words"]


def test_adding_words_to_the_dev_file_changes_nothing_in_the_model(tmp_path: Path, vectors: Dict[str, np.ndarray]) -> None:
    train(tmp_path, "plain")
    train(tmp_path, "more-dev-words", with_new_dev_words())
    assert (tmp_path / "plain" / "vocab.json").read_bytes() == (tmp_path / "more-dev-words" / "vocab.json").read_bytes()
    plain, more = (
        load_file(str(tmp_path / "plain" / "model.safetensors")),
        load_file(str(tmp_path / "more-dev-words" / "model.safetensors")),
    )
    assert plain.keys() == more.keys()
    assert [name for name in plain if not np.array_equal(plain[name], more[name])] == []


def test_words_of_the_vector_file_in_no_split_keep_their_pretrained_vectors(tmp_path: Path, vectors: Dict[str, np.ndarray]) -> None:
    train(tmp_path, "m")
    vocab = words(tmp_path / "m")
    train_words = training_words()
    assert vocab == ["<pad>", "<unk>", *train_words, *[w for w in FILE_WORDS if w not in train_words]]
    loaded = tagger.Tagger.load(tmp_path / "m")
    weights = loaded.model.word_embedding.weight
    for word in ("basel", "zurich", "geneva"):
        row = loaded.word_vocab.index(word.capitalize())  # tagging "Basel" looks up the row of "basel"
        assert row == vocab.index(word)
        assert torch.equal(weights[row], torch.from_numpy(vectors[word])), word
    # The training words' rows were fine-tuned: they moved away from the file's vectors.
    paris = loaded.word_vocab.index("Paris")
    assert paris < 2 + len(train_words) and not torch.equal(weights[paris], torch.from_numpy(vectors["paris"]))
    assert loaded.predict([["Anna", "flew", "to", "Basel", "."]])  # tags a sentence of file-only words


def test_max_vectors_zero_keeps_the_training_words_only(tmp_path: Path, vectors: Dict[str, np.ndarray]) -> None:
    train(tmp_path, "m", max_vectors=0)
    assert words(tmp_path / "m") == ["<pad>", "<unk>", *training_words()]


def test_max_vectors_n_keeps_the_first_n_new_words_of_the_file(tmp_path: Path, vectors: Dict[str, np.ndarray]) -> None:
    train(tmp_path, "m", max_vectors=2)
    assert words(tmp_path / "m") == ["<pad>", "<unk>", *training_words(), "zurich", "geneva"]


def test_the_default_bound_takes_the_file_first_words_that_fit(
    tmp_path: Path, vectors: Dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tagger.embeddings

    assert tagger.embeddings.MAX_FILE_VALUES >= 400_000 * 50  # all of GloVe 6B 50d fits
    monkeypatch.setattr(tagger.embeddings, "MAX_FILE_VALUES", 3 * DIM + DIM // 2)  # room for three 8d rows
    train(tmp_path, "m")
    assert words(tmp_path / "m") == ["<pad>", "<unk>", *training_words(), "zurich", "geneva", "basel"]


def test_vocab_from_eval_splits_keeps_the_old_transductive_vocabulary(tmp_path: Path, vectors: Dict[str, np.ndarray]) -> None:
    model = train(tmp_path, "m", with_new_dev_words(), vocab_from_eval_splits=True)
    # The dev words the file has ("anna" it has not), and no other word of the file.
    assert words(tmp_path / "m") == ["<pad>", "<unk>", *training_words(), "zurich", "geneva"]
    assert model.train_config.vocab_from_eval_splits is True
    row = model.word_vocab.index("Zurich")
    assert torch.equal(model.model.word_embedding.weight[row], torch.from_numpy(vectors["zurich"]))
    config = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))
    assert config["training"]["vocab_from_eval_splits"] is True


def test_resume_with_frozen_file_rows_reaches_the_same_weights(
    tmp_path: Path, vectors: Dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tagger.model import SequenceTagger
    from tests.model.test_checkpoint import assert_same_weights, signal_at_call

    options = {"max_epochs": 2, "seed": 3, "device": "cpu"}
    expected = train(tmp_path, "reference", **options).model.state_dict()
    signal_at_call(monkeypatch, 3 + 2)  # 6 sentences, 2 per batch: epoch 2, step 2
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, "m", **options)
    monkeypatch.undo()
    resumed = train(tmp_path, "m", resume=True, **options)
    assert isinstance(resumed.model, SequenceTagger)
    assert_same_weights(resumed.model.state_dict(), expected)
