"""``tagger train --contextual`` and ``tagger tag``/``evaluate`` on the model it writes (CliRunner, toy files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import NER_SENTENCES, TINY, conll_text, invoke


@pytest.fixture(scope="module")
def trained(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("contextual-cli")
    train = root / "train.conll"
    train.write_text(conll_text(NER_SENTENCES), encoding="utf-8")
    tokens = root / "tokens.txt"
    tokens.write_text("John Smith lives in Paris .\n\nMary flew to New York with British Airways .\n", encoding="utf-8")
    out = root / "model"
    args = ["train", "--train", train, "--dev", train, "--out", out, "--cache-dir", root / "hf-cache", *TINY]
    result = invoke([*args, "--max-epochs", "25", "--contextual", tiny_encoder, "--contextual-layers", "1", "--contextual-pooling", "mean"])
    return {"root": root, "train": train, "tokens": tokens, "out": out, "result": result}


def test_train_with_contextual_features(trained: dict, tiny_encoder: Path) -> None:
    result = trained["result"]
    assert result.exit_code == 0, result.output
    description = json.loads((trained["out"] / "contextual.json").read_text())
    assert description["layers"] == 1 and description["pooling"] == "mean" and description["name_or_path"] == str(tiny_encoder)
    assert "contextual features from" in result.stderr


@pytest.mark.parametrize("engine", ["auto", "torch"])
def test_tag_uses_torch_for_a_contextual_model(trained: dict, engine: str) -> None:
    result = invoke(["tag", trained["tokens"], "--input", "tokens", "--model", trained["out"], "--engine", engine, "--output", "inline"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "[PER John Smith] lives in [LOC Paris] .",
        "[PER Mary] flew to [LOC New York] with [ORG British Airways] .",
    ]


def test_tag_with_the_numpy_engine_is_one_line_exit_2(trained: dict) -> None:
    result = invoke(["tag", trained["tokens"], "--input", "tokens", "--model", trained["out"], "--engine", "numpy"])
    assert result.exit_code == 2
    assert result.stderr.startswith("tagger: error: ") and "--engine torch" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_evaluate_a_contextual_model(trained: dict) -> None:
    result = invoke(["evaluate", trained["train"], "--model", trained["out"], "--json", "--cache-dir", trained["root"] / "hf-cache"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["f1"] == 1.0


def test_a_missing_encoder_is_one_line_exit_2(trained: dict, tmp_path: Path) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(trained["out"], model)
    description = json.loads((model / "contextual.json").read_text())
    description["name_or_path"] = "tagger-tests/absent"
    (model / "contextual.json").write_text(json.dumps(description))
    result = invoke(["tag", trained["tokens"], "--input", "tokens", "--model", model])
    assert result.exit_code == 2 and "--allow-download" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_train_with_a_missing_encoder_is_one_line_exit_2(trained: dict, tmp_path: Path) -> None:
    result = invoke(
        [
            "train",
            "--train",
            trained["train"],
            "--out",
            tmp_path / "m",
            "--cache-dir",
            trained["root"] / "hf-cache",
            "--contextual",
            "tagger-tests/absent",
        ]
    )
    assert result.exit_code == 2, result.output
    assert "tagger-tests/absent" in result.stderr and "--allow-download" in result.stderr
    assert not (tmp_path / "m").exists()
