"""Same seed and data give identical weights on CPU; another seed gives others."""

import torch

import tagger
from tests.model.toy import TINY, toy_dataset


def _weights(path, seed):
    options = {**TINY, "dropout": 0.3, "word_dropout": 0.1}
    model = tagger.train(toy_dataset(), "ner_tags", path, max_epochs=2, seed=seed, log=lambda _: None, device="cpu", **options)
    return model.model.state_dict()


def test_same_seed_same_weights(tmp_path):
    first, second, other = _weights(tmp_path / "a", 7), _weights(tmp_path / "b", 7), _weights(tmp_path / "c", 8)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
