"""The training loop: dev scores are measured as inference sees them, and the schedule is pure."""

import json

import pytest

import tagger
from tagger.training import lr_at
from tests.model.toy import TINY, toy_dataset


def test_dev_score_during_training_equals_evaluation_afterwards(tmp_path):
    dd = toy_dataset()
    options = {**TINY, "dropout": 0.5, "word_dropout": 0.2}
    model = tagger.train(dd, "ner_tags", tmp_path / "m", max_epochs=3, log=lambda _: None, **options)
    best = max(json.loads(line)["dev_f1"] for line in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines())
    assert model.meta["scores"]["validation"]["f1"] == pytest.approx(best)
    assert tagger.evaluate(model, dd["validation"], "ner_tags").f1 == pytest.approx(best)


def test_lr_schedule():
    assert lr_at(0, 0.1, 0.05) == 0.1
    assert lr_at(10, 0.1, 0.05) == pytest.approx(0.1 / 1.5)
    assert lr_at(10, 0.1, 0.0) == 0.1
