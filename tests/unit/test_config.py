"""TaggerConfig / TrainConfig: defaults, validation and JSON round trips."""

import pytest

from tagger.config import TaggerConfig, TrainConfig, split_options
from tagger.errors import ConfigError


def test_json_round_trip():
    config = TaggerConfig(cell="gru", hidden_size=64, num_words=10, num_tags=5, training_scheme="IOBES")
    assert TaggerConfig.from_json(config.to_json()) == config
    train = TrainConfig(optimizer="adam", lr=0.01, max_vectors=100)
    assert TrainConfig.from_json(train.to_json()) == train


def test_unknown_key_is_refused():
    with pytest.raises(ConfigError, match="unknown TaggerConfig option.*colour"):
        TaggerConfig.from_dict({"colour": "red"})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "transformer"}, "cell must be one of lstm, gru, rnn"),
        ({"hidden_size": 0}, "hidden_size must be > 0"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"char_encoder": "lstm", "char_hidden": 51}, "char_hidden must be even"),
    ],
)
def test_bad_model_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TaggerConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"device": "tpu"}, "device must be"),
        ({"scheme": "bilou"}, "scheme must be one of"),
    ],
)
def test_bad_train_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def test_bad_json():
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainConfig.from_json("{", source="x.json")


def test_default_learning_rates():
    assert TrainConfig(optimizer="adam").learning_rate() == 2e-3
    assert TrainConfig(optimizer="sgd", batch_size=10).learning_rate() == pytest.approx(0.015)
    assert TrainConfig(lr=0.5).learning_rate() == 0.5


def test_split_options():
    model, train = split_options({"cell": "gru", "lr": 0.1, "crf": False})
    assert model == {"cell": "gru", "crf": False} and train == {"lr": 0.1}
    with pytest.raises(ConfigError, match="unknown option.*hiden_size"):
        split_options({"hiden_size": 3})
