"""A tagger with contextual features: the scalar mix, training, saving, loading and the refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import tagger
from tagger.config import TaggerConfig
from tagger.errors import ConfigError, ModelFileError, TrainingError
from tagger.inference import Tagger
from tagger.model import ScalarMix
from tagger.numpy_tagger import NumpyTagger
from tagger.serialization import load_model_files
from tests.contextual.conftest import make_encoder
from tests.model.toy import SENTENCES, TINY, toy_dataset

TOKENS = [s.split() for s, _ in SENTENCES]
GOLD = [t.split() for _, t in SENTENCES]


def test_scalar_mix_matches_a_hand_computation() -> None:
    mix = ScalarMix(3)
    with torch.no_grad():
        mix.weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
        mix.gamma.fill_(1.5)
    states = torch.randn(2, 4, 3, 5)  # (batch, seq_len, layers, dim)
    e = [0.5, -1.0, 2.0]
    total = sum(torch.tensor(x).exp() for x in e)
    expected = 1.5 * sum(torch.tensor(x).exp() / total * states[:, :, j] for j, x in enumerate(e))
    assert torch.allclose(mix(states), expected, atol=1e-6)
    mix(states).sum().backward()
    assert mix.weights.grad is not None and mix.gamma.grad is not None


def test_config_bounds_and_shapes() -> None:
    from tagger.shapes import expected_shapes

    config = TaggerConfig(contextual_dim=16, contextual_layers=2, hidden_size=4, word_dim=3, char_encoder="none", case_dim=0)
    shapes = expected_shapes(config)
    assert shapes["contextual_mix.weights"] == (2,) and shapes["contextual_mix.gamma"] == (1,)
    assert shapes["encoder.forward_layers.0.weight_ih_l0"] == (16, 3 + 16)
    with pytest.raises(ConfigError, match="both are 0"):
        TaggerConfig(contextual_dim=16)
    with pytest.raises(ConfigError, match="contextual_dim must be <= 20,000"):
        TaggerConfig(contextual_dim=10**9, contextual_layers=1)
    with pytest.raises(ConfigError, match="contextual_layers must be <= 64"):
        TaggerConfig(contextual_dim=16, contextual_layers=65)
    with pytest.raises(ConfigError, match="weights"):  # 20,000 x 4 x 20,000 inputs: refused before allocation
        TaggerConfig(contextual_dim=20_000, contextual_layers=1, hidden_size=20_000, layers=4)


@pytest.fixture(scope="module")
def contextual_model(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy NER model trained with the tiny encoder's features (written once for the module)."""
    out = tmp_path_factory.mktemp("models") / "ner"
    options = {**TINY, "max_epochs": 25, "patience": 25, "num_threads": 1, "seed": 3}
    tagger.train(toy_dataset(), "ner_tags", out, contextual=str(tiny_encoder), log=lambda line: None, **options)
    return out


def test_training_with_contextual_features_saves_reloads_and_tags_identically(contextual_model: Path, tiny_encoder: Path) -> None:
    config = json.loads((contextual_model / "config.json").read_text())
    assert config["format_version"] == 2
    assert config["model"]["contextual_dim"] == 16 and config["model"]["contextual_layers"] == 2
    description = json.loads((contextual_model / "contextual.json").read_text())
    assert description["name_or_path"] == str(tiny_encoder) and description["pooling"] == "first"
    loaded = Tagger.load(contextual_model, device="cpu")
    predicted = loaded.predict(TOKENS)
    assert predicted == GOLD  # the toy corpus is learnt
    assert Tagger.load(contextual_model, device="cpu").predict(TOKENS) == predicted
    assert loaded.predict([TOKENS[0], [], TOKENS[2]]) == [GOLD[0], [], GOLD[2]]
    assert loaded.info()["contextual"]["weights_sha256"] == description["weights_sha256"]


def test_the_features_change_the_predictions(contextual_model: Path) -> None:
    loaded = Tagger.load(contextual_model, device="cpu")
    real = loaded.contextual.features
    loaded.contextual.features = lambda sentences, progress=False: [f * 0 for f in real(sentences, progress)]
    scores = loaded.model.emissions  # compare emissions: tags may survive, scores must not
    from tagger.batching import FormTable, encode_sentence, make_batch

    forms = FormTable(loaded.char_vocab, char_index=loaded._char_index)
    encoded = [encode_sentence(TOKENS[0], loaded.word_vocab, forms)]
    batch = make_batch(encoded, forms, contextual=real([TOKENS[0]]))
    zeros = make_batch(encoded, forms, contextual=loaded.contextual.features([TOKENS[0]]))
    with torch.no_grad():
        assert not torch.allclose(scores(batch), scores(zeros))


def test_plain_models_stay_format_1(tmp_path: Path) -> None:
    out = tmp_path / "plain"
    tagger.train(toy_dataset(), "ner_tags", out, log=lambda line: None, **{**TINY, "max_epochs": 1})
    assert json.loads((out / "config.json").read_text())["format_version"] == 1
    assert not (out / "contextual.json").exists()
    assert NumpyTagger.load(out).predict(TOKENS[:1])


def test_a_changed_encoder_is_refused(contextual_model: Path, tmp_path: Path) -> None:
    import tagger.contextual as contextual

    model = tmp_path / "model"
    shutil.copytree(contextual_model, model)
    other = make_encoder(tmp_path / "other", seed=1)  # same architecture, other weights
    description = json.loads((model / "contextual.json").read_text())
    description["name_or_path"] = str(other)
    (model / "contextual.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError) as refused:
        Tagger.load(model, device="cpu")
    assert "not the one the model was trained with: its weights_sha256" in refused.value.message
    assert refused.value.path == str(model / "contextual.json") and "\n" not in str(refused.value)
    assert contextual.weights_sha256(other) != description["weights_sha256"]


def test_a_missing_encoder_is_refused_offline_in_one_line(contextual_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(contextual_model, model)
    description = json.loads((model / "contextual.json").read_text())
    description["name_or_path"] = "tagger-tests/absent-encoder"
    (model / "contextual.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError) as refused:
        Tagger.load(model, device="cpu")
    message = str(refused.value)
    assert "tagger-tests/absent-encoder" in message and "--allow-download" in message and "\n" not in message


def test_the_numpy_engine_refuses_a_contextual_model(contextual_model: Path, tiny_encoder: Path) -> None:
    with pytest.raises(ModelFileError) as refused:
        NumpyTagger.load(contextual_model)
    message = str(refused.value)
    assert str(tiny_encoder) in message and "--engine torch" in message and str(contextual_model) in message


def _edit(model: Path, name: str, edit) -> None:
    value = json.loads((model / name).read_text())
    edit(value)
    (model / name).write_text(json.dumps(value))


HOSTILE = [
    ("contextual.json", lambda d: d.__setitem__("hidden_size", "16"), "hidden_size must be an integer"),
    ("contextual.json", lambda d: d.__setitem__("layers", True), "layers must be an integer"),
    ("contextual.json", lambda d: d.__setitem__("layers", 3), r"layers must be in \[1, num_hidden_layers 2\]"),
    ("contextual.json", lambda d: d.__setitem__("num_hidden_layers", 10**12), "num_hidden_layers must be in"),
    ("contextual.json", lambda d: d.__setitem__("max_positions", 10**30), "max_positions must be in"),
    ("contextual.json", lambda d: d.__setitem__("hidden_size", 17), "config.json says contextual_dim 16"),
    ("contextual.json", lambda d: d.__setitem__("pooling", "max"), "pooling must be one of"),
    ("contextual.json", lambda d: d.__setitem__("weights_sha256", "0" * 63), "weights_sha256 must be"),
    ("contextual.json", lambda d: d.__setitem__("commit_hash", "main"), "commit_hash must be"),
    ("contextual.json", lambda d: d.__setitem__("name_or_path", ["x"]), "name_or_path must be a string"),
    ("contextual.json", lambda d: d.__setitem__("name_or_path", " "), "name_or_path is empty"),
    ("contextual.json", lambda d: d.__setitem__("trust_remote_code", True), "unknown"),
    ("contextual.json", lambda d: d.pop("weights_sha256"), "missing"),
    ("contextual.json", lambda d: d.clear() or d.__setitem__("x", [[[[]]]]), "missing"),
    ("config.json", lambda c: c["model"].__setitem__("contextual_dim", 10**9), "contextual_dim must be <="),
    ("config.json", lambda c: c["model"].__setitem__("contextual_layers", 0), "contextual_dim 16 and contextual_layers 0"),
    ("config.json", lambda c: c.__setitem__("format_version", 1), "models with contextual features are format 2"),
    ("config.json", lambda c: c.__setitem__("format_version", 3), "newer than this tagger reads"),
]


@pytest.mark.parametrize("name, edit, message", HOSTILE)
def test_a_hostile_model_directory_is_refused_before_the_encoder_loads(
    contextual_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, edit, message: str
) -> None:
    import tagger.contextual

    model = tmp_path / "model"
    shutil.copytree(contextual_model, model)
    _edit(model, name, edit)
    monkeypatch.setattr(tagger.contextual, "load_encoder", lambda *a, **k: pytest.fail("the encoder was loaded"))
    with pytest.raises(ModelFileError, match=message):
        Tagger.load(model, device="cpu")
    with pytest.raises(ModelFileError, match=message):
        load_model_files(model, tensors="numpy")


def test_contextual_json_is_required_and_only_with_contextual_features(contextual_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(contextual_model, model)
    (model / "contextual.json").unlink()
    with pytest.raises(ModelFileError, match="missing: config.json has contextual_layers 2"):
        load_model_files(model)
    plain = tmp_path / "plain"
    tagger.train(toy_dataset(), "ner_tags", plain, log=lambda line: None, **{**TINY, "max_epochs": 1})
    shutil.copy(contextual_model / "contextual.json", plain / "contextual.json")
    with pytest.raises(ModelFileError, match="has no contextual features"):
        load_model_files(plain)


def test_contextual_options_are_checked_before_training(tiny_encoder: Path, tmp_path: Path) -> None:
    data = toy_dataset()
    with pytest.raises(ConfigError, match="contextual_layers 2 needs contextual"):
        tagger.train(data, "ner_tags", tmp_path / "a", contextual_layers=2, **TINY)
    with pytest.raises(ConfigError, match="contextual_dim is the encoder's hidden size"):
        tagger.train(data, "ner_tags", tmp_path / "b", contextual_dim=8, **TINY)
    with pytest.raises(ConfigError, match=r"contextual_layers must be in \[1, 2\]"):
        tagger.train(data, "ner_tags", tmp_path / "c", contextual=str(tiny_encoder), contextual_layers=3, log=lambda line: None, **TINY)
    with pytest.raises(ConfigError, match="contextual_pooling must be one of"):
        tagger.train(data, "ner_tags", tmp_path / "d", contextual=str(tiny_encoder), contextual_pooling="last", **TINY)
    assert not any(tmp_path.iterdir())


def test_resume_with_contextual_features_reaches_the_same_weights(tiny_encoder: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    options = {**TINY, "max_epochs": 4, "patience": 10, "num_threads": 1, "contextual": str(tiny_encoder), "contextual_pooling": "mean"}
    quiet = {"log": lambda line: None}
    tagger.train(toy_dataset(), "ner_tags", tmp_path / "whole", **quiet, **options)

    def stop_after_two(record: dict) -> None:
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tagger.train(toy_dataset(), "ner_tags", tmp_path / "split", callbacks=[stop_after_two], **quiet, **options)
    assert (tmp_path / "split.checkpoint" / "checkpoint.safetensors").is_file()
    tagger.train(toy_dataset(), "ner_tags", tmp_path / "split", resume=True, **quiet, **options)
    whole, split = load_file(str(tmp_path / "whole" / "model.safetensors")), load_file(str(tmp_path / "split" / "model.safetensors"))
    assert whole.keys() == split.keys() and all(torch.equal(whole[k], split[k]) for k in whole)


def test_resume_with_another_encoder_is_refused(tiny_encoder: Path, tmp_path: Path) -> None:
    other = tmp_path / "encoder"
    shutil.copytree(tiny_encoder, other)
    options = {**TINY, "max_epochs": 3, "num_threads": 1, "contextual": str(other)}

    def stop(record: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tagger.train(toy_dataset(), "ner_tags", tmp_path / "out", callbacks=[stop], log=lambda line: None, **options)
    shutil.rmtree(other)
    make_encoder(other, seed=7)  # same path, other weights
    with pytest.raises(TrainingError, match="its contextual encoder has weights_sha256="):
        tagger.train(toy_dataset(), "ner_tags", tmp_path / "out", resume=True, log=lambda line: None, **options)


def _cached(root: Path, repo: str, commit: str, encoder: Path, *, main: bool = True) -> None:
    """Puts ``encoder``'s files in a Hugging Face cache at ``root`` as ``repo``'s snapshot ``commit``."""
    folder = root / f"models--{repo.replace('/', '--')}"
    shutil.copytree(encoder, folder / "snapshots" / commit)
    if main:
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        (folder / "refs" / "main").write_text(commit)


def test_a_hub_encoder_comes_from_the_cache_and_its_commit_is_pinned(
    tiny_encoder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    first, second = "1" * 40, "2" * 40
    _cached(cache, "tagger-tests/tiny", first, tiny_encoder)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    out = tmp_path / "model"
    tagger.train(toy_dataset(), "ner_tags", out, contextual="tagger-tests/tiny", log=lambda line: None, **{**TINY, "max_epochs": 2})
    description = json.loads((out / "contextual.json").read_text())
    assert description["name_or_path"] == "tagger-tests/tiny" and description["commit_hash"] == first
    predicted = Tagger.load(out, device="cpu").predict(TOKENS)
    # main moves on to other weights: the model still loads the commit it was trained with.
    _cached(cache, "tagger-tests/tiny", second, make_encoder(tmp_path / "newer", seed=5))
    assert Tagger.load(out, device="cpu").predict(TOKENS) == predicted
    shutil.rmtree(cache / "models--tagger-tests--tiny" / "snapshots" / first)
    with pytest.raises(ModelFileError, match="--allow-download"):
        Tagger.load(out, device="cpu")
