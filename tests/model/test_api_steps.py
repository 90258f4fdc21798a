"""The steps of ``tagger.train`` (tagger.api), each on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tagger import api
from tagger.config import TrainConfig
from tagger.errors import ConfigError
from tests.model.toy import NER_LABELS, toy_dataset

REPO = Path(__file__).resolve().parents[2]


def test_options_split_into_the_two_configs_and_are_checked() -> None:
    cfg, model_options = api._options({"hidden_size": 8, "lr": 0.5, "crf": False})
    assert (cfg.lr, model_options) == (0.5, {"hidden_size": 8, "crf": False})
    with pytest.raises(ConfigError, match="contextual_dim is the encoder's hidden size"):
        api._options({"contextual_dim": 16})
    with pytest.raises(ConfigError, match="unknown option"):
        api._options({"hiden_size": 8})


def test_training_words_frequent_first_then_alphabetical_rare_apart() -> None:
    counts = Counter({"the": 3, "The": 1, "cat": 2, "bat": 2, "Zed": 1})
    assert api._training_words(counts, 2, lowercase=False) == (["the", "bat", "cat"], ["The", "Zed"])
    assert api._training_words(counts, 2, lowercase=True) == (["the", "bat", "cat"], ["zed"])


def test_vocabularies_without_vectors() -> None:
    tokens = [["a", "b", "a"], ["c"]]
    vocabularies = api._vocabularies({}, tokens, TrainConfig(min_count=2), lowercase=False, log=lambda _: None)
    assert vocabularies.words.items == ["<pad>", "<unk>", "a"] and vocabularies.trainable_rows == 3
    assert vocabularies.matrix is None and {"a", "b", "c"} <= set(vocabularies.chars.items)


def test_split_labels_and_dev_data() -> None:
    dataset = toy_dataset()
    labels = api._split_labels(dataset, "ner_tags", TrainConfig(scheme="iobes"))
    assert (labels.corpus_scheme, labels.training_scheme, labels.output_labels) == ("IOB2", "IOBES", NER_LABELS)
    assert "S-PER" in labels.labels.items and len(labels.tokens) == len(dataset["train"])
    split, (tokens, tags) = api._dev_data(dataset, "ner_tags", labels)
    assert split == "validation" and tokens[0] == ["John", "Smith", "lives", "in", "Paris", "."] and tags[0][0] == "B-PER"
    assert api._dev_data(toy_dataset(validation=False), "ner_tags", labels) == (None, None)


def test_dev_labels_the_training_split_lacks_are_refused() -> None:
    labels = api._split_labels(toy_dataset(), "ner_tags", TrainConfig())
    labels.output_labels = ["O", "B-PER", "I-PER"]
    with pytest.raises(ConfigError, match="validation split has label"):
        api._dev_data(toy_dataset(), "ner_tags", labels)


def test_metrics_writer_starts_with_the_epochs_done(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    write = api._metrics_writer(path, [{"epoch": 1, "loss": 0.5}])
    write({"epoch": 2, "loss": 0.25})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]


HISTORY = [{"epoch": 1, "loss": 1.0, "dev_f1": 0.5}, {"epoch": 2, "loss": 0.5, "dev_f1": 0.7}]


def test_the_plot_needs_no_pyplot(tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    code = (
        "import sys; from pathlib import Path; from tagger.api import _plot_history; "
        f"_plot_history({HISTORY!r}, Path({str(out)!r}), plain=False); print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.split() == ["False"]
    assert out.read_bytes().startswith(b"\x89PNG")
