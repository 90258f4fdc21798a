"""Every model format ever written still loads and tags as the version that wrote it.

``tests/data/formats/`` holds a tiny model from each past version (written by
``scripts/make_format_fixture.py`` with that version's code), with the tags it predicted for a
few sentences; ``tagger.migrations`` reads them as today's models.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import tagger
from tagger.errors import ModelFileError
from tagger.migrations import migrate_config, migrate_tensors, tensor_name
from tagger.serialization import load_model_files

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
REPO = Path(__file__).resolve().parents[2]
PLAIN = ["v1-bfeb539", "v1-013f205", "v1-current"]


def expected(name: str) -> dict:
    return json.loads((FORMATS / name / "expected.json").read_text(encoding="utf-8"))


def test_every_fixture_is_tested() -> None:
    assert sorted(p.name for p in FORMATS.iterdir()) == sorted([*PLAIN, "v2-contextual"])


@pytest.mark.parametrize("name", PLAIN)
@pytest.mark.parametrize("engine", [tagger.Tagger, tagger.NumpyTagger], ids=["torch", "numpy"])
def test_past_plain_models_tag_as_they_did(name: str, engine: type) -> None:
    want = expected(name)
    assert engine.load(FORMATS / name).predict(want["sentences"]) == want["tags"]


def test_the_first_format_is_migrated_not_just_accepted() -> None:
    raw = json.loads((FORMATS / "v1-bfeb539" / "config.json").read_text(encoding="utf-8"))
    assert "lowercase_words" not in raw["model"]
    files = load_model_files(FORMATS / "v1-bfeb539", tensors="numpy")
    assert files.config.lowercase_words is False and files.config.shared_dropout is False  # the behaviour of then
    assert files.train_config.weight_average == 0.0 and files.train_config.vocab_from_eval_splits is True
    assert "encoder.forward_layers.0.weight_ih_l0" in files.state_dict and "encoder.backward_layers.0.bias_hh_l0" in files.state_dict


def test_a_loaded_old_model_saves_in_todays_format(tmp_path: Path) -> None:
    model = tagger.Tagger.load(FORMATS / "v1-bfeb539")
    model.save(tmp_path / "resaved")
    config = json.loads((tmp_path / "resaved" / "config.json").read_text(encoding="utf-8"))
    assert config["format_version"] == 1 and config["model"]["lowercase_words"] is False
    want = expected("v1-bfeb539")
    assert tagger.NumpyTagger.load(tmp_path / "resaved").predict(want["sentences"]) == want["tags"]


def test_tensor_names_of_the_single_rnn() -> None:
    assert tensor_name("encoder.rnn.weight_ih_l0") == "encoder.forward_layers.0.weight_ih_l0"
    assert tensor_name("encoder.rnn.bias_hh_l2_reverse") == "encoder.backward_layers.2.bias_hh_l0"
    assert tensor_name("encoder.forward_layers.0.weight_ih_l0") == "encoder.forward_layers.0.weight_ih_l0"
    assert tensor_name("crf.transitions") == "crf.transitions"
    assert migrate_tensors({"encoder.rnn.weight_hh_l1": 1}) == {"encoder.forward_layers.1.weight_hh_l0": 1}


def test_a_file_with_both_layouts_is_refused() -> None:
    with pytest.raises(ModelFileError, match="both encoder layouts"):
        migrate_tensors({"encoder.rnn.weight_ih_l0": 1, "encoder.forward_layers.0.weight_ih_l0": 2}, Path("m/model.safetensors"))


def test_config_migration_keeps_recorded_values_and_copies() -> None:
    config = {"format_version": 1, "model": {"lowercase_words": True}, "training": {}}
    migrated = migrate_config(config)
    assert migrated["model"]["lowercase_words"] is True and migrated["model"]["shared_dropout"] is False
    assert config == {"format_version": 1, "model": {"lowercase_words": True}, "training": {}}


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed (pip install .[transformers])")
def test_contextual_models_tag_as_they_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # contextual.json names the checked-in encoder by a path relative to the checkout
    want = expected("v2-contextual")
    assert tagger.Tagger.load(FORMATS / "v2-contextual").predict(want["sentences"]) == want["tags"]
    assert json.loads((FORMATS / "v2-contextual" / "config.json").read_text(encoding="utf-8"))["format_version"] == 2
