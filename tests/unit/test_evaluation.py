"""evaluate_tags against seqeval and hand-made cases."""

import json

import pytest
from seqeval.metrics import f1_score

from tagger.evaluation import evaluate_tags


def test_entity_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    report = evaluate_tags(gold, pred, "IOB2")
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert report.per_type["PER"].f1 == 1.0
    assert report.per_type["LOC"].recall == 0.0 and report.per_type["LOC"].support == 1
    assert report.accuracy == pytest.approx(5 / 6)
    assert report.f1 == pytest.approx(f1_score(gold, pred))
    assert json.loads(report.to_json())["f1"] == pytest.approx(report.f1)
    assert "micro avg" in report.format_table()


def test_default_mode_accepts_i_start_strict_mode_does_not():
    gold = [["B-PER", "I-PER"]]
    pred = [["I-PER", "I-PER"]]
    assert evaluate_tags(gold, pred, "IOB2").f1 == 1.0
    assert evaluate_tags(gold, pred, "IOB2", mode="strict").f1 == 0.0


def test_plain_tags_use_token_accuracy():
    report = evaluate_tags([["NOUN", "VERB", "NOUN"]], [["NOUN", "NOUN", "NOUN"]], "plain")
    assert report.accuracy == pytest.approx(2 / 3) and report.main_score == report.accuracy
    assert report.per_type["NOUN"].precision == pytest.approx(2 / 3)
    assert report.per_type["VERB"].recall == 0.0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="sentence 0"):
        evaluate_tags([["O", "O"]], [["O"]], "IOB2")
