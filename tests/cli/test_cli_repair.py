"""``tagger train --repair-tags``: gold tag sequences the file's scheme forbids are refused, or repaired and counted."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import NER_SENTENCES, TINY, conll_text, invoke


def test_train_refuses_or_repairs_invalid_gold_sequences(tmp_path: Path) -> None:
    sentences = [*NER_SENTENCES, ("Mary Smith", "B-PER E-PER"), ("in New York", "O B-LOC I-LOC")]  # IOBES, one slip
    train = tmp_path / "train.conll"
    train.write_text(conll_text(sentences, columns="two"), encoding="utf-8")
    args = ["train", "--train", train, "--out", tmp_path / "model", "--cache-dir", tmp_path / "c", "--max-epochs", "1", *TINY]
    refused = invoke(args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert f"tagger: error: {train}:" in refused.stderr and "(IOBES)" in refused.stderr and "--repair-tags" in refused.stderr
    assert not (tmp_path / "model").exists()
    repaired = invoke([*args, "--repair-tags"])
    assert repaired.exit_code == 0, repaired.output
    assert "tagger: note: repaired 7 tag sequences the conlleval way in the training data" in repaired.stderr
    assert (tmp_path / "model" / "config.json").is_file()
