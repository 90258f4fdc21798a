"""Every trainable parameter learns; frozen vectors do not; initialisation follows the seeds."""

import torch

from tagger.batching import FormTable, encode_sentence, make_batch
from tagger.config import TaggerConfig
from tagger.encoders import init_recurrent
from tagger.model import SequenceTagger
from tagger.vocab import PAD, UNK, Vocab, WordVocab


def _batch():
    words = WordVocab([PAD, UNK, "ab", "b", "cab"])
    chars = Vocab([PAD, UNK, "a", "b", "c"])
    forms = FormTable(chars)
    sentences = [encode_sentence(["ab", "b", "cab"], words, forms, [0, 1, 2]), encode_sentence(["cab", "Ab"], words, forms, [2, 0])]
    return make_batch(sentences, forms)


def _config(**kwargs):
    return TaggerConfig(
        num_words=5, num_chars=5, num_tags=3, word_dim=6, hidden_size=5, char_dim=4, char_hidden=4, case_dim=3, dropout=0.0, **kwargs
    )


def test_every_parameter_gets_a_gradient():
    for crf in (True, False):
        for char_encoder in ("cnn", "lstm"):
            model = SequenceTagger(_config(crf=crf, char_encoder=char_encoder))
            model.loss(_batch()).backward()
            for name, param in model.named_parameters():
                assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_frozen_embeddings_get_no_gradient():
    model = SequenceTagger(_config(freeze_embeddings=True))
    model.loss(_batch()).backward()
    assert model.word_embedding.weight.grad is None
    assert model.output.weight.grad is not None


def test_initialisation_orthogonal_xavier_forget_bias():
    lstm = torch.nn.LSTM(7, 5, bidirectional=True)
    init_recurrent(lstm)
    for block in lstm.weight_hh_l0.split(5):
        assert torch.allclose(block @ block.T, torch.eye(5), atol=1e-5)
    bound = (6 / (7 + 5)) ** 0.5
    assert lstm.weight_ih_l0.abs().max() <= bound
    assert torch.equal(lstm.bias_ih_l0[5:10], torch.ones(5)) and lstm.bias_ih_l0[:5].abs().sum() == 0
    assert lstm.bias_hh_l0.abs().sum() == 0
    gru = torch.nn.GRU(7, 5)
    init_recurrent(gru)
    assert gru.bias_ih_l0.abs().sum() == 0
