"""A sentence's tags do not depend on the other sentences of its batch (padding does not leak)."""

import torch

import tagger
from tests.model.toy import TINY, toy_dataset


def test_batch_equals_one_by_one(tmp_path):
    model = tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", max_epochs=2, log=lambda _: None, **TINY)
    sentences = list(toy_dataset()["train"]["tokens"]) + [["a"], ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]]
    batched = model.predict(sentences, batch_size=64)
    assert batched == [model.predict([s])[0] for s in sentences]
    assert model.predict(sentences, batch_size=3) == batched


def test_emissions_ignore_padding(tmp_path):
    from tagger.batching import FormTable, encode_sentence, make_batch

    model = tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", max_epochs=1, log=lambda _: None, **TINY)
    forms = FormTable(model.char_vocab)
    short = encode_sentence(["John", "lives"], model.word_vocab, forms)
    long = encode_sentence(["Mary", "flew", "to", "New", "York", "today"], model.word_vocab, forms)
    net = model.model.eval()
    with torch.no_grad():
        alone = net.emissions(make_batch([short], forms).to(model.device))
        together = net.emissions(make_batch([short, long], forms).to(model.device))
    assert torch.allclose(alone[0], together[0, :2], atol=1e-5)
