"""TaggerConfig / TrainConfig: defaults, validation and JSON round trips."""

import math

import numpy as np
import pytest

from tagger import config as config_module
from tagger.config import TaggerConfig, TrainConfig, split_options
from tagger.errors import ConfigError


def test_json_round_trip():
    config = TaggerConfig(cell="gru", hidden_size=64, num_words=10, num_tags=5, training_scheme="IOBES", output_scheme="IOB2")
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


# -- types, finiteness and bounds (issue 9, items 3, 10 and 16) ----------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"crf": "false"}, "crf must be a bool"),
        ({"bidirectional": 1}, "bidirectional must be a bool"),
        ({"hidden_size": 12.5}, "hidden_size must be an integer"),
        ({"layers": 1.5}, "layers must be an integer"),
        ({"layers": True}, "layers must be an integer"),
        ({"hidden_size": "200"}, "hidden_size must be an integer"),
        ({"cell": 3}, "cell must be a string"),
        ({"dropout": math.nan}, "dropout must be a finite number"),
        ({"dropout": "0.5"}, "dropout must be a finite number"),
        ({"training_scheme": "XYZ"}, "training_scheme must be one of"),
        ({"training_scheme": "IOBES", "output_scheme": "plain"}, "training_scheme.*output_scheme"),
        ({"num_words": None}, "num_words must be an integer"),
    ],
)
def test_model_field_types(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TaggerConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": math.inf}, "lr must be a finite number"),
        ({"lr": math.nan}, "lr must be a finite number"),
        ({"momentum": math.nan}, "momentum must be a finite number"),
        ({"weight_decay": math.inf}, "weight_decay must be a finite number"),
        ({"clip": -math.inf}, "clip must be a finite number"),
        ({"max_minutes": math.inf}, "max_minutes must be a finite number"),
        ({"lr_decay": 10**400}, "lr_decay must be a finite number"),
        ({"word_dropout": math.nan}, "word_dropout must be a finite number"),
        ({"batch_size": "32"}, "batch_size must be an integer"),
        ({"batch_size": 32.0}, "batch_size must be an integer"),
        ({"max_epochs": True}, "max_epochs must be an integer"),
        ({"num_threads": -3}, "num_threads must be"),
        ({"num_threads": 0}, "num_threads must be"),
        ({"num_threads": 10**6}, "num_threads must be"),
        ({"seed": 2**70}, "seed must be"),
        ({"seed": -1}, "seed must be"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"mixed_precision": "yes"}, "mixed_precision must be a bool"),
        ({"device": 0}, "device must be a string"),
        ({"embeddings": 3}, "embeddings must be a string"),
        ({"max_vectors": -1}, "max_vectors must be >= 0"),
        ({"max_vectors": 2.5}, "max_vectors must be an integer"),
    ],
)
def test_train_field_types(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def test_numpy_numbers_and_paths_are_normalised(tmp_path):
    config = TaggerConfig(hidden_size=np.int64(8), dropout=np.float32(0.25), layers=np.int32(2))
    assert type(config.hidden_size) is int and type(config.dropout) is float and type(config.layers) is int
    train = TrainConfig(lr=1, seed=np.uint64(2**63 - 1), embeddings=tmp_path / "vectors.txt")
    assert type(train.lr) is float and train.seed == 2**63 - 1 and train.embeddings == str(tmp_path / "vectors.txt")
    assert TrainConfig.from_json(train.to_json()) == train  # JSON-able: no numpy scalars, no paths


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"layers": 100_000}, "layers"),
        ({"hidden_size": 10**6}, "hidden_size"),
        ({"word_dim": 10**7}, "word_dim"),
        ({"char_dim": 10**6}, "char_dim"),
        ({"char_hidden": 10**6}, "char_hidden"),
        ({"case_dim": 10**6}, "case_dim"),
        ({"char_kernel": 10**4}, "char_kernel"),
        ({"num_chars": 10**8}, "num_chars"),
        ({"num_tags": 10**5, "crf": False}, "num_tags"),
        ({"num_tags": 5000}, "num_tags"),  # a CRF's transitions grow as the square
    ],
)
def test_sizes_are_bounded(kwargs, option):
    with pytest.raises(ConfigError, match=f"{option} must be <= "):
        TaggerConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden_size": 20_000, "layers": 64},  # each size within its bound, together 8e11 parameters
        {"num_words": 10**8, "word_dim": 1000},
        {"num_chars": 1_000_000, "char_hidden": 10_000, "char_kernel": 9},  # NumPy engine's character tables
    ],
)
def test_total_size_is_bounded(kwargs):
    with pytest.raises(ConfigError, match="parameters allowed"):
        TaggerConfig(**kwargs)


def test_bounds_are_generous():
    TaggerConfig(layers=config_module.MAX_LAYERS, hidden_size=64)
    TaggerConfig(hidden_size=4000, word_dim=300)  # big but legitimate
    TaggerConfig(num_words=3_000_000, word_dim=300)  # GoogleNews vectors, all of them
    TaggerConfig(num_tags=config_module.MAX_CRF_TAGS)
    TrainConfig(num_threads=config_module.MAX_THREADS, seed=2**63 - 1)


def test_config_json_values_are_checked():
    with pytest.raises(ConfigError, match="crf must be a bool"):
        TaggerConfig.from_json('{"crf": "false"}')
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        TrainConfig.from_json('{"lr": NaN}')
