"""tagger.contextual: per-word features from a tiny random BERT, checked against its own hidden states."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tagger.contextual import FeatureCache, load_encoder, pooling_matrix, weights_sha256, word_windows
from tagger.errors import ConfigError

SENTENCE = ["John", "Smithson", "lives", "in", "Paris", "."]


def hand_features(encoder, words, pooling: str) -> torch.Tensor:
    """The encoder's last layers pooled per word, computed here from the model's own hidden states."""
    encoding = encoder.tokenizer([words], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = encoder.model(**encoding, output_hidden_states=True).hidden_states[-encoder.layers :]
    word_ids = encoding.word_ids(0)
    rows = []
    for word in range(len(words)):
        positions = [p for p, w in enumerate(word_ids) if w == word]
        if not positions:
            rows.append(torch.zeros(len(states), encoder.dim))
        elif pooling == "first":
            rows.append(torch.stack([layer[0, positions[0]] for layer in states]))
        else:
            rows.append(torch.stack([layer[0, positions].mean(dim=0) for layer in states]))
    return torch.stack(rows, dim=1)  # shape: (layers, words, dim)


@pytest.mark.parametrize("pooling", ["first", "mean"])
def test_pooling_matches_a_hand_computation(tiny_encoder: Path, pooling: str) -> None:
    encoder = load_encoder(str(tiny_encoder), pooling=pooling)
    (features,) = encoder.features([SENTENCE])
    assert features.dtype == torch.float16 and features.device.type == "cpu"
    assert features.shape == (2, len(SENTENCE), 16)  # default 4 layers, bounded by the encoder's 2
    expected = hand_features(encoder, SENTENCE, pooling)
    assert torch.allclose(features.float(), expected, atol=2e-3, rtol=2e-3)
    # "Smithson" has several sub-tokens: first and mean differ there, so the test tells them apart.
    assert encoder.tokenizer([["Smithson"]], is_split_into_words=True, add_special_tokens=False).word_ids(0).count(0) > 1


def test_first_and_mean_differ_and_layers_are_the_last_ones(tiny_encoder: Path) -> None:
    first = load_encoder(str(tiny_encoder), pooling="first", layers=1).features([SENTENCE])[0]
    mean = load_encoder(str(tiny_encoder), pooling="mean", layers=1).features([SENTENCE])[0]
    both = load_encoder(str(tiny_encoder), pooling="first", layers=2).features([SENTENCE])[0]
    assert first.shape == (1, 6, 16) and not torch.equal(first[:, 1], mean[:, 1])
    assert torch.equal(both[1], first[0])  # layers=1 keeps the last layer


def test_a_word_without_sub_tokens_gets_zeros(tiny_encoder: Path) -> None:
    encoder = load_encoder(str(tiny_encoder))
    words = ["John", "\x07", "lives"]  # BERT's normaliser drops control characters: no sub-token
    assert None not in encoder.tokenizer([words], is_split_into_words=True, add_special_tokens=False).word_ids(0)
    (features,) = encoder.features([words])
    assert torch.count_nonzero(features[:, 1]) == 0
    assert torch.count_nonzero(features[:, 0]) > 0 and torch.count_nonzero(features[:, 2]) > 0


def test_word_windows() -> None:
    assert word_windows([], 5) == []
    assert word_windows([2, 2, 2], 5) == [(0, 2), (2, 3)]
    assert word_windows([1, 9, 1], 5) == [(0, 1), (1, 2), (2, 3)]  # an over-long word alone
    assert word_windows([0, 5, 0, 0], 5) == [(0, 4)]  # words without sub-tokens take no room
    assert word_windows([0, 5, 1, 0], 5) == [(0, 2), (2, 4)]
    assert word_windows([3, 2, 5], 5) == [(0, 2), (2, 3)]


def test_long_sentence_is_encoded_in_windows_of_whole_words(short_encoder: Path) -> None:
    encoder = load_encoder(str(short_encoder), pooling="mean")
    assert encoder.max_positions == 12
    words = "john smith lives in paris and the european said on thursday it rained in london and rome".split()
    counts = encoder.tokenizer([words], is_split_into_words=True, add_special_tokens=False).word_ids(0)
    per_word = [counts.count(i) for i in range(len(words))]
    windows = word_windows(per_word, 12 - 2)
    assert len(windows) >= 3 and sum(per_word) > 12
    (features,) = encoder.features([words])
    expected = torch.cat([encoder.features([words[start:end]])[0] for start, end in windows], dim=1)
    assert torch.equal(features, expected)
    assert torch.allclose(features[:, : windows[0][1]].float(), hand_features(encoder, words[: windows[0][1]], "mean"), atol=2e-3)


def test_batches_of_sentences_equal_one_by_one(tiny_encoder: Path) -> None:
    encoder = load_encoder(str(tiny_encoder))
    sentences = [SENTENCE, [], ["Rome"], "the european said on 1996-08-22 .".split()]
    together = encoder.features(sentences)
    assert together[1].shape == (2, 0, 16)
    for sentence, features in zip(sentences, together):
        if sentence:
            assert torch.allclose(features.float(), encoder.features([sentence])[0].float(), atol=2e-3)


def test_feature_cache_computes_each_sentence_once(tiny_encoder: Path) -> None:
    cache = FeatureCache(load_encoder(str(tiny_encoder)))
    calls = []
    features = cache.encoder.features
    cache.encoder.features = lambda sentences, progress=False: calls.append(len(sentences)) or features(sentences, progress)
    first = cache.features([SENTENCE, ["Rome"], SENTENCE])
    again = cache.features([["Rome"], SENTENCE])
    assert calls == [2] and again[1] is first[0]
    assert cache.nbytes() == (6 + 1) * 2 * 16 * 2


def test_description(tiny_encoder: Path) -> None:
    encoder = load_encoder(str(tiny_encoder), layers=1, pooling="mean")
    assert encoder.description == {
        "name_or_path": str(tiny_encoder),
        "revision": None,
        "commit_hash": None,
        "model_type": "bert",
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "layers": 1,
        "pooling": "mean",
        "max_positions": 64,
        "weights_sha256": weights_sha256(tiny_encoder),
    }


def test_bad_options_and_missing_encoders_are_one_line(tiny_encoder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"contextual_layers must be in \[1, 2\]"):
        load_encoder(str(tiny_encoder), layers=3)
    with pytest.raises(ConfigError, match="contextual_pooling must be one of first, mean"):
        load_encoder(str(tiny_encoder), pooling="max")
    with pytest.raises(ConfigError) as missing:
        load_encoder("no-such-org/no-such-encoder")
    assert "--allow-download" in missing.value.message and "\n" not in str(missing.value)
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_encoder, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ConfigError, match="no model.safetensors"):
        load_encoder(str(pickled))


def test_missing_transformers_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tiny_encoder: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_transformers(name, *args, **kwargs):
        if name == "transformers" or name.startswith("transformers."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    with pytest.raises(ConfigError, match=r"pip install tagger\[transformers\]"):
        load_encoder(str(tiny_encoder))


def test_a_slow_tokenizer_is_refused(monkeypatch: pytest.MonkeyPatch, tiny_encoder: Path) -> None:
    import transformers

    real = transformers.AutoTokenizer.from_pretrained

    class Slow:
        is_fast = False

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: (real(*a, **k), Slow())[1])
    with pytest.raises(ConfigError, match="has no fast tokenizer"):
        load_encoder(str(tiny_encoder))


def test_the_loading_bar_setting_is_left_as_it_was(tiny_encoder: Path) -> None:
    from transformers.utils import logging

    assert logging.is_progress_bar_enabled()
    load_encoder(str(tiny_encoder))
    assert logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        load_encoder(str(tiny_encoder))
        assert not logging.is_progress_bar_enabled()
    finally:
        logging.enable_progress_bar()


def test_pooling_matrix() -> None:
    first = pooling_matrix([None, 0, 0, 2, None], 3, "first")
    mean = pooling_matrix([None, 0, 0, 2, None], 3, "mean")
    assert first.tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0]]
    assert mean.tolist() == [[0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0]]
