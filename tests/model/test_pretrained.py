"""Training with a word-vector file written by gensim: rows come from the file, frozen stay put."""

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

import tagger
from tests.model.toy import TINY, toy_dataset


@pytest.fixture
def vectors_file(tmp_path):
    rng = np.random.default_rng(0)
    words = ["paris", "london", "john", "smith", "lives", "in", ".", "berlin", "rome", "zurich"]
    kv = KeyedVectors(vector_size=16)
    kv.add_vectors(words, rng.standard_normal((len(words), 16)).astype(np.float32))
    path = tmp_path / "vectors.bin"
    kv.save_word2vec_format(str(path), binary=True)
    return path, kv


def test_rows_come_from_the_file_and_frozen_vectors_do_not_move(tmp_path, vectors_file):
    path, kv = vectors_file
    dd = toy_dataset()
    options = {**TINY, "word_dim": 999}  # the file's dimension wins
    model = tagger.train(
        dd, "ner_tags", tmp_path / "m", embeddings=str(path), freeze_embeddings=True, max_epochs=2, log=lambda _: None, **options
    )
    assert model.config.word_dim == 16
    weights = model.model.word_embedding.weight
    for word in ("paris", "john", "london"):  # the training words "Paris", "John", "London" share the lowercase rows
        row = model.word_vocab.index(word.capitalize())
        assert torch.allclose(weights[row], torch.tensor(kv[word])), word
    reloaded = tagger.Tagger.load(tmp_path / "m")
    assert torch.equal(reloaded.model.word_embedding.weight, weights)


def test_words_of_the_file_get_rows_whatever_the_splits_hold(tmp_path, vectors_file):
    path, kv = vectors_file
    model = tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", embeddings=str(path), max_epochs=1, log=lambda _: None, **TINY)
    row = model.word_vocab.index("Zurich")  # in the file, in no split
    assert row > 1
    assert torch.equal(model.model.word_embedding.weight[row], torch.tensor(kv["zurich"]))  # not fine-tuned
    assert model.word_vocab.index("Geneva") == 1  # in neither: <unk>


def test_train_never_unpickles_the_embeddings_file(tmp_path):
    from tagger.errors import EmbeddingsError
    from tests.unit.test_embeddings import malicious_pickle

    marker = tmp_path / "pwned"
    for name in ("glove.6B.50d.txt", "vectors.kv"):
        path = malicious_pickle(tmp_path / name, marker)
        with pytest.raises(EmbeddingsError, match="pickle"):
            tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", embeddings=str(path), max_epochs=1, log=lambda _: None, **TINY)
        assert not marker.exists()
        assert not (tmp_path / "m").exists()


def test_train_refuses_a_nan_vector(tmp_path):
    from tagger.errors import EmbeddingsError

    path = tmp_path / "glove.txt"
    path.write_text("john 0.1 0.2\nparis nan 0.3\n", encoding="utf-8")
    with pytest.raises(EmbeddingsError, match="not finite") as caught:
        tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", embeddings=str(path), max_epochs=1, log=lambda _: None, **TINY)
    assert caught.value.line == 2
    assert not (tmp_path / "m").exists()
