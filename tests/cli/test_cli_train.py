"""Tests for ``tagger train``: real tiny runs (session fixtures), option plumbing, --config precedence, --dataset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

from tagger.cli.train import train_command
from tagger.cli.train_options import EMBEDDINGS_FORMATS, MODEL_OPTIONS, OPTION_FIELDS, TRAIN_OPTIONS
from tagger.config import TaggerConfig, TrainConfig
from tests.cli.conftest import NER_SENTENCES, Data, Trained, conll_text, invoke


def test_ner_run_prints_dev_and_test_reports_and_writes_the_model(ner_model: Trained) -> None:
    result = ner_model.result
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("validation:") < out.index("test:") < out.index(f"model written to {ner_model.path}")
    assert out.count("micro avg") == 2 and "PER" in out and "LOC" in out
    assert "embeddings" in result.stderr and "8d" in result.stderr  # the library's coverage line
    assert {"config.json", "vocab.json", "model.safetensors", "meta.json"} <= {p.name for p in ner_model.path.iterdir()}
    config = json.loads((ner_model.path / "config.json").read_text(encoding="utf-8"))
    assert config["model"]["word_dim"] == 8  # from the vectors, not the default 100
    assert config["model"]["hidden_size"] == 16 and config["training"]["embeddings"].endswith("vectors.bin")
    meta = json.loads((ner_model.path / "meta.json").read_text(encoding="utf-8"))
    assert meta["scores"]["validation"]["f1"] == 1.0  # a model that fits 6 sentences scores 100 on 4 of them


def test_pos_run_takes_the_config_file_and_flags_win(pos_model: Trained) -> None:
    assert pos_model.result.exit_code == 0, pos_model.result.output
    config = json.loads((pos_model.path / "config.json").read_text(encoding="utf-8"))
    assert config["model"]["cell"] == "gru" and config["model"]["crf"] is False  # from pos.yaml
    assert config["model"]["char_encoder"] == "lstm"  # from pos.yaml, dashes in the key
    assert config["model"]["hidden_size"] == 16  # --hidden-size 16 beats the file's 12
    assert config["training"]["max_epochs"] == 12  # --max-epochs 12 beats the file's 2
    assert config["model"]["output_scheme"] == "plain"
    assert "accuracy" in pos_model.result.stdout and "NOUN" in pos_model.result.stdout


def test_every_configuration_field_is_a_flag() -> None:
    settable = {
        f.name
        for f in dataclasses.fields(TaggerConfig)
        if f.name not in {"num_words", "num_chars", "num_tags", "training_scheme", "output_scheme", "contextual_dim"}
    }
    settable |= {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(OPTION_FIELDS) == settable
    flags = {opt for param in train_command.params for opt in param.opts + param.secondary_opts}
    for _declarations, field, _, _ in MODEL_OPTIONS + TRAIN_OPTIONS:
        assert f"--{field.replace('_', '-')}" in flags, field


def test_embeddings_formats_match_the_library() -> None:
    from tagger.embeddings import FORMATS

    assert EMBEDDINGS_FORMATS == FORMATS


class FakeTrain:
    """Stands in for tagger.api.train: records what the CLI passed."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []

    def __call__(
        self,
        dataset: Any,
        tag_column: str,
        out_dir: Any,
        *,
        force: bool = False,
        resume: bool = False,
        allow_download: bool = False,
        **options: Any,
    ) -> Any:
        self.calls.append(
            {
                "dataset": dataset,
                "tag_column": tag_column,
                "out": str(out_dir),
                "force": force,
                "resume": resume,
                "allow_download": allow_download,
                "options": options,
            }
        )
        return SimpleNamespace(meta={"scores": {}})


@pytest.fixture
def fake_train(monkeypatch: pytest.MonkeyPatch) -> FakeTrain:
    fake = FakeTrain()
    monkeypatch.setattr("tagger.api.train", fake)
    return fake


def test_only_given_flags_reach_the_library(fake_train: FakeTrain, data: Data, tmp_path: Path) -> None:
    result = invoke(
        [
            "train",
            "--train",
            data.train,
            "--dev",
            data.dev,
            "--out",
            tmp_path / "m",
            "--cache-dir",
            data.cache,
            "--softmax",
            "--word-dropout",
            "0.1",
            "--max-minutes",
            "0.5",
            "--unidirectional",
        ]
    )
    assert result.exit_code == 0, result.output
    (call,) = fake_train.calls
    assert call["options"] == {"crf": False, "word_dropout": 0.1, "max_minutes": 0.5, "bidirectional": False}
    assert call["tag_column"] == "tags" and call["force"] is False and call["resume"] is False
    assert sorted(call["dataset"]) == ["train", "validation"]
    assert result.stdout.strip().endswith(f"model written to {tmp_path / 'm'}")


def test_resume_reaches_the_library(fake_train: FakeTrain, data: Data, tmp_path: Path) -> None:
    result = invoke(["train", "--train", data.train, "--out", tmp_path / "m", "--cache-dir", data.cache, "--resume", "--lr", "0.1"])
    assert result.exit_code == 0, result.output
    (call,) = fake_train.calls
    assert call["resume"] is True and call["options"] == {"lr": 0.1}


@pytest.mark.parametrize(
    "suffix, text",
    [
        (".json", '{"hidden-size": 32, "optimizer": "adamw", "crf": false, "lr": 0.5, "out": "OUT", "force": true}'),
        (".yaml", "hidden_size: 32\noptimizer: adamw\ncrf: no\nlr: '0.5'\nout: OUT\nforce: true\n"),
    ],
)
def test_config_file_values_and_flag_precedence(fake_train: FakeTrain, data: Data, tmp_path: Path, suffix: str, text: str) -> None:
    config = tmp_path / f"options{suffix}"
    config.write_text(text.replace("OUT", str(tmp_path / "from-config")), encoding="utf-8")
    result = invoke(["train", "--train", data.train, "--dev", data.dev, "--cache-dir", data.cache, "--config", config, "--lr", "0.25"])
    assert result.exit_code == 0, result.output
    (call,) = fake_train.calls
    assert call["options"] == {"hidden_size": 32, "optimizer": "adamw", "crf": False, "lr": 0.25}
    assert call["out"] == str(tmp_path / "from-config") and call["force"] is True


def test_dataset_option_uses_the_known_corpus_and_its_tag_columns(fake_train: FakeTrain, tmp_path: Path, data: Data) -> None:
    corpus_dir = tmp_path / "data" / "conll2003"
    corpus_dir.mkdir(parents=True)
    iob1 = [(text, " ".join("I" + t[1:] if t.startswith("B-") else t for t in tags.split())) for text, tags in NER_SENTENCES]
    (corpus_dir / "train.txt").write_text(conll_text(iob1), encoding="utf-8")
    (corpus_dir / "dev.txt").write_text(conll_text(iob1[:2]), encoding="utf-8")
    result = invoke(
        ["train", "--dataset", "conll2003", "--data-dir", tmp_path / "data", "--out", tmp_path / "m", "--cache-dir", tmp_path / "c"]
    )
    assert result.exit_code == 0, result.output
    call = fake_train.calls[-1]
    assert call["tag_column"] == "ner_tags" and sorted(call["dataset"]) == ["train", "validation"]
    names = call["dataset"]["train"].features["ner_tags"].feature.names
    assert names[:3] == ["O", "B-PER", "I-PER"]  # the Hub's IOB2 labels
    result = invoke(
        [
            "train",
            "--dataset",
            "conll2003",
            "--data-dir",
            tmp_path / "data",
            "--tag-column",
            "pos_tags",
            "--out",
            tmp_path / "m",
            "--cache-dir",
            tmp_path / "c",
        ]
    )
    assert result.exit_code == 0, result.output
    assert fake_train.calls[-1]["tag_column"] == "pos_tags"


def test_no_dev_file_is_allowed_with_a_note(fake_train: FakeTrain, data: Data, tmp_path: Path) -> None:
    result = invoke(["train", "--train", data.train, "--out", tmp_path / "m", "--cache-dir", data.cache, "--tag-column", "-1"])
    assert result.exit_code == 0, result.output
    assert "no --dev file" in result.stderr
    assert sorted(fake_train.calls[0]["dataset"]) == ["train"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--train", "T"], "--out DIR is required"),
        (["--out", "M"], "give --dataset NAME, or --train PATH"),
        (["--dataset", "conll2003", "--train", "T", "--out", "M"], "not both"),
        (["--train", "T", "--data-dir", "D", "--out", "M"], "--data-dir goes with --dataset"),
        (["--train", "T", "--out", "M", "--cell", "transformer"], "'transformer' is not one of"),
    ],
)
def test_usage_errors_exit_2(fake_train: FakeTrain, data: Data, args: List[str], message: str) -> None:
    result = invoke(["train", *[str(data.train) if a == "T" else a for a in args]])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert fake_train.calls == []


def test_help_has_an_example() -> None:
    result = invoke(["train", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "tagger train --train train.txt --dev dev.txt" in result.stdout


def test_vocab_from_eval_splits_is_a_flag_off_by_default(fake_train: FakeTrain, data: Data, tmp_path: Path) -> None:
    args = ["train", "--train", data.train, "--dev", data.dev, "--cache-dir", data.cache, "--out", tmp_path / "m"]
    for flag, value in (("--vocab-from-eval-splits", True), ("--no-vocab-from-eval-splits", False)):
        result = invoke([*args, flag, "--force"])
        assert result.exit_code == 0, result.output
        assert fake_train.calls[-1]["options"] == {"vocab_from_eval_splits": value}
    assert TrainConfig().vocab_from_eval_splits is False
    help_text = " ".join(invoke(["train", "--help"]).stdout.split())
    assert "--vocab-from-eval-splits" in help_text and "[default: no-vocab-from-eval-splits]" in help_text
    assert "inflates" in help_text  # the help says what the option does to scores
    from tagger.embeddings import MAX_FILE_VALUES

    assert f"as many as fit in {MAX_FILE_VALUES // 1_000_000} M numbers" in help_text  # --max-vectors' default, as the library's
