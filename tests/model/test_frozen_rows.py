"""Only the training vocabulary's rows of the word embedding learn: the rows a vector file adds
beyond it are a frozen buffer, out of the optimiser, yet saved and loaded as one matrix.
"""

from __future__ import annotations

import pytest
import torch

from tagger.batching import FormTable, encode_sentence, make_batch
from tagger.config import TaggerConfig, TrainConfig
from tagger.model import SequenceTagger
from tagger.training import make_optimizer
from tagger.vocab import PAD, UNK, Vocab, WordVocab

WORDS = [PAD, UNK, "ab", "b", "cab", "ba", "abc", "bb"]  # rows 2-4: training words; 5-7: the file's other words
TRAINABLE = 5
DIM = 6


def _batch():
    words = WordVocab(WORDS)
    forms = FormTable(Vocab([PAD, UNK, "a", "b", "c"]))
    sentences = [
        encode_sentence(["ab", "ba", "cab"], words, forms, [0, 1, 2]),
        encode_sentence(["bb", "b", "abc", "zz"], words, forms, [2, 0, 1, 0]),
    ]
    return make_batch(sentences, forms)


def _model(**kwargs) -> SequenceTagger:
    config = TaggerConfig(
        num_words=len(WORDS),
        num_chars=5,
        num_tags=3,
        word_dim=DIM,
        hidden_size=5,
        char_dim=4,
        char_hidden=4,
        case_dim=3,
        dropout=0.0,
        **kwargs,
    )
    torch.manual_seed(0)
    return SequenceTagger(config)


def _vectors() -> torch.Tensor:
    return torch.randn(len(WORDS), DIM, generator=torch.Generator().manual_seed(1))


def _split_model(**kwargs) -> SequenceTagger:
    model = _model(**kwargs)
    model.set_word_vectors(_vectors(), trainable_rows=TRAINABLE)
    return model


def test_the_extra_rows_get_no_gradient_and_are_not_in_the_optimiser() -> None:
    model = _split_model()
    optimizer = make_optimizer(model, TrainConfig())
    optimised = [p for group in optimizer.param_groups for p in group["params"]]
    # Every parameter is optimised, and together they hold all of the model but the 3 extra rows.
    assert {id(p) for p in optimised} == {id(p) for p in model.parameters()}
    assert sum(p.numel() for p in optimised) == sum(p.numel() for p in _model().parameters()) - (len(WORDS) - TRAINABLE) * DIM
    assert all(tensor.shape != (len(WORDS), DIM) for tensor in optimised)
    model.loss(_batch()).backward()
    (trainable,) = [p for p in optimised if p.shape == (TRAINABLE, DIM)]
    assert trainable.grad is not None and trainable.grad[2:].abs().sum(dim=1).gt(0).all()  # every training word is used
    assert not trainable.grad[0].any()  # <pad> never learns
    optimizer.step()
    weight = model.state_dict()["word_embedding.weight"]
    assert torch.equal(weight[TRAINABLE:], _vectors()[TRAINABLE:])  # the extra rows did not move
    assert not torch.equal(weight[2:TRAINABLE], _vectors()[2:TRAINABLE])  # the training rows did


def test_frozen_embeddings_freeze_every_row() -> None:
    model = _split_model(freeze_embeddings=True)
    model.loss(_batch()).backward()
    optimised = [p for group in make_optimizer(model, TrainConfig()).param_groups for p in group["params"]]
    assert sum(p.numel() for p in optimised) == sum(p.numel() for p in _model().parameters()) - len(WORDS) * DIM
    assert model.word_embedding.weight.grad is None


def test_split_lookup_equals_the_whole_matrix() -> None:
    whole = _model()
    whole.set_word_vectors(_vectors())
    split = _split_model()
    batch = _batch()
    assert torch.equal(split.features(batch), whole.features(batch))
    assert torch.equal(split.word_embedding.weight, whole.word_embedding.weight)


def test_the_state_dict_holds_one_matrix_and_loads_into_either_layout() -> None:
    split = _split_model()
    state = split.state_dict()
    assert [name for name in state if name.startswith("word_embedding")] == ["word_embedding.weight"]
    assert state["word_embedding.weight"].shape == (len(WORDS), DIM)
    assert state.keys() == _model().state_dict().keys()
    whole = _model()  # a model loaded for tagging: one matrix
    whole.load_state_dict(state)
    resumed = _model()  # a resumed run: split first, then its weights restored
    resumed.set_word_vectors(torch.zeros(len(WORDS), DIM), trainable_rows=TRAINABLE)
    resumed.load_state_dict(whole.state_dict())
    for other in (whole, resumed):
        assert other.state_dict().keys() == state.keys()
        assert all(torch.equal(other.state_dict()[name], state[name]) for name in state)
    assert sum(p.numel() for p in resumed.parameters()) == sum(p.numel() for p in split.parameters())


def test_loading_a_matrix_of_the_wrong_shape_or_an_unexpected_tensor_fails() -> None:
    state = _split_model().state_dict()
    wrong = {**state, "word_embedding.weight": torch.zeros(len(WORDS) + 1, DIM)}
    for model in (_model(), _split_model()):
        with pytest.raises(RuntimeError, match="word_embedding.weight"):
            model.load_state_dict(wrong)
        with pytest.raises(RuntimeError, match="word_embedding.head"):
            model.load_state_dict({**state, "word_embedding.head": torch.zeros(2, DIM)})
        with pytest.raises(RuntimeError, match="word_embedding.weight"):
            model.load_state_dict({k: v for k, v in state.items() if k != "word_embedding.weight"})


def test_set_word_vectors_checks_its_arguments() -> None:
    model = _model()
    with pytest.raises(ValueError, match="shape"):
        model.set_word_vectors(torch.zeros(len(WORDS) - 1, DIM))
    for rows in (0, 1, len(WORDS) + 1):
        with pytest.raises(ValueError, match="trainable_rows"):
            model.set_word_vectors(_vectors(), trainable_rows=rows)
