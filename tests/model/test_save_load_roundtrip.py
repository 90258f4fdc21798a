"""Saved models reload bit for bit, tag identically, and bad model directories give clear errors."""

import json
import shutil
import time

import pytest
import torch

import tagger
from tagger.errors import ConfigError, ModelFileError
from tagger.inference import Tagger
from tests.model.toy import TINY, toy_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "ner"
    model = tagger.train(toy_dataset(), "ner_tags", path, max_epochs=3, log=lambda _: None, **TINY)
    return path, model


def test_directory_holds_json_and_safetensors_only(trained):
    path, _ = trained
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "vocab.json", "model.safetensors", "meta.json", "metrics.jsonl", "training.png"} <= names
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == 1 and config["model"]["cell"] == "lstm"
    assert not list(path.glob("*.pt")) and not list(path.glob("*.pkl"))
    assert len((path / "metrics.jsonl").read_text().splitlines()) == 3


def test_reload_is_identical(trained):
    path, model = trained
    loaded = Tagger.load(path, device="cpu")
    original, again = model.model.state_dict(), loaded.model.state_dict()
    assert original.keys() == again.keys()
    assert all(torch.equal(original[k].cpu(), again[k]) for k in original)
    sentences = list(toy_dataset()["train"]["tokens"]) + [["Unseen", "words", "Zyx", "in", "Qwerty", "."]]
    assert loaded.predict(sentences) == model.predict(sentences)
    assert loaded.labels == model.labels and loaded.scheme == "IOB2"


def test_refuses_to_overwrite_without_force(trained, tmp_path):
    path, model = trained
    with pytest.raises(ConfigError, match="already exists.*--force"):
        model.save(path)
    before = (path / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        tagger.train(toy_dataset(), "ner_tags", path, max_epochs=1, log=lambda _: None, **TINY)
    assert (path / "model.safetensors").read_bytes() == before
    copy = tmp_path / "copy"
    model.save(copy)
    model.save(copy, force=True)
    assert Tagger.load(copy).predict([["John"]]) == model.predict([["John"]])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary directories left behind"


def test_never_replaces_a_directory_that_is_not_a_model(trained, tmp_path):
    _, model = trained
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a tagger model"):
        model.save(precious, force=True)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_load_errors(trained, tmp_path):
    path, model = trained
    with pytest.raises(ModelFileError, match="no such model directory"):
        Tagger.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="missing config.json"):
        Tagger.load(tmp_path / "empty")
    broken = tmp_path / "broken"
    model.save(broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="model.safetensors.*truncated or corrupt"):
        Tagger.load(broken)
    newer = tmp_path / "newer"
    model.save(newer)
    config = json.loads((newer / "config.json").read_text())
    config["format_version"] = 99
    (newer / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="newer than this tagger reads"):
        Tagger.load(newer)
    file_path = tmp_path / "file.txt"
    file_path.write_text("x")
    with pytest.raises(ModelFileError, match="not a model directory"):
        Tagger.load(file_path)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
@pytest.mark.parametrize(
    "key, value, message",
    [
        ("hidden_size", 30000, "config.json: bad model configuration: hidden_size must be <= "),  # asked for 14.4 GB
        ("layers", 1_000_000, "config.json: bad model configuration: layers must be <= "),  # 5.6 GB (torch), 2 GB (numpy)
        ("hidden_size", 4000, "model.safetensors: weight .* has shape"),  # 29 s and 970 MB before its error
        ("crf", "false", "config.json: bad model configuration: crf must be a bool"),  # loaded as a CRF
    ],
)
def test_a_config_that_lies_about_its_weights_is_refused_at_once(trained, tmp_path, engine, key, value, message):
    from tagger.numpy_tagger import NumpyTagger

    path, _ = trained
    lying = tmp_path / "lying"
    shutil.copytree(path, lying)
    config = json.loads((lying / "config.json").read_text())
    config["model"][key] = value
    (lying / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=message):
        Tagger.load(lying, device="cpu") if engine == "torch" else NumpyTagger.load(lying)
    assert time.perf_counter() - start < 2.0
