"""A tiny model of every cell type and both output layers fits a toy corpus (train F1 = 1.0)."""

import pytest

import tagger
from tests.model.toy import TINY, toy_dataset, toy_pos_dataset


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("crf", [True, False])
def test_fits_toy_ner(tmp_path, cell, crf):
    dd = toy_dataset()
    model = tagger.train(dd, "ner_tags", tmp_path / "m", cell=cell, crf=crf, max_epochs=60, patience=60, log=lambda _: None, **TINY)
    report = tagger.evaluate(model, dd["train"], "ner_tags")
    assert report.f1 == 1.0, report.format_table()
    gold = [[dd["train"].features["ner_tags"].feature.int2str(i) for i in row] for row in dd["train"]["ner_tags"]]
    assert model.predict(dd["train"]["tokens"]) == gold


@pytest.mark.parametrize("char_encoder", ["lstm", "none"])
def test_fits_with_other_char_encoders_and_unidirectional(tmp_path, char_encoder):
    dd = toy_dataset()
    model = tagger.train(
        dd,
        "ner_tags",
        tmp_path / "m",
        char_encoder=char_encoder,
        bidirectional=False,
        layers=2,
        case_dim=4,
        max_epochs=80,
        patience=80,
        log=lambda _: None,
        **TINY,
    )
    assert tagger.evaluate(model, dd["train"], "ner_tags").f1 == 1.0


def test_fits_pos(tmp_path):
    dd = toy_pos_dataset()
    model = tagger.train(dd, "upos", tmp_path / "m", max_epochs=40, patience=40, log=lambda _: None, **TINY)
    report = tagger.evaluate(model, dd["train"], "upos")
    assert report.scheme == "plain" and report.accuracy == 1.0
