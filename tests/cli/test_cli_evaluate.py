"""Tests for ``tagger evaluate`` (the seqeval report, --json, --mode, IOB1 files for IOB2 models) and ``tagger info``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagger.errors import ConfigError
from tests.cli.conftest import NER_SENTENCES, Data, Trained, conll_text, invoke


def test_report_table(ner_model: Trained, data: Data) -> None:
    result = invoke(["evaluate", data.dev, "--model", ner_model.path, "--cache-dir", data.cache])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1", "support"]
    assert [line.split()[0] for line in lines[1:5]] == ["LOC", "MISC", "ORG", "PER"]
    assert "micro avg" in result.stdout and "(4 sentences, 30 tokens; scheme IOB2, default mode)" in result.stdout


def test_json_has_the_scores(ner_model: Trained, data: Data) -> None:
    result = invoke(["evaluate", data.dev, "--model", ner_model.path, "--cache-dir", data.cache, "--json", "--mode", "strict"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"f1", "precision", "recall", "accuracy", "per_type"} <= set(report)
    assert report["f1"] == 1.0 and report["accuracy"] == 1.0 and report["mode"] == "strict"
    assert report["per_type"]["LOC"]["support"] == 3  # Paris, New York, Berlin


def test_an_iob1_file_scores_like_its_iob2_twin(ner_model: Trained, data: Data) -> None:
    """Models trained on IOB2 labels can be scored on the original IOB1 CoNLL-2003 files."""
    result = invoke(["evaluate", data.dev_iob1, "--model", ner_model.path, "--cache-dir", data.cache, "--json", "--mode", "strict"])
    assert result.exit_code == 0, result.output
    iob2 = invoke(["evaluate", data.dev, "--model", ner_model.path, "--cache-dir", data.cache, "--json", "--mode", "strict"])
    assert json.loads(result.stdout)["per_type"] == json.loads(iob2.stdout)["per_type"]
    assert json.loads(result.stdout)["f1"] == 1.0


def test_the_library_scores_an_iob1_dataset_like_the_cli(ner_model: Trained, data: Data) -> None:
    """One evaluation path: tagger.evaluate converts the gold scheme as `tagger evaluate` does."""
    import tagger
    from tagger.corpora import load_corpus, source_scheme

    corpus = load_corpus(data.dev_iob1, cache_dir=data.cache)
    assert source_scheme(corpus) == "IOB1" and corpus["train"].features["tags"].feature.names[:3] == ["O", "I-LOC", "I-MISC"]
    for mode in ("default", "strict"):
        library = tagger.evaluate(ner_model.path, corpus, "tags", mode=mode)
        cli = invoke(["evaluate", data.dev_iob1, "--model", ner_model.path, "--cache-dir", data.cache, "--json", "--mode", mode])
        assert cli.exit_code == 0, cli.output
        assert library.to_dict() == json.loads(cli.stdout)
        assert library.f1 == 1.0 and library.scheme == "IOB2"
    # A dataset not from load_corpus: its scheme is detected, or given.
    plain = corpus["train"].select_columns(["tokens", "tags"]).flatten_indices()
    plain.info.description = ""
    assert tagger.evaluate(ner_model.path, plain, "tags", mode="strict").f1 == 1.0
    with pytest.raises(ConfigError, match="column 'tags' has label.s. the model does not know: I-MISC"):
        tagger.evaluate(ner_model.path, plain, "tags", scheme="IOB2")  # read as IOB2, I-MISC stays


def test_unknown_gold_labels_name_the_file(ner_model: Trained, tmp_path: Path) -> None:
    path = tmp_path / "foo.conll"
    path.write_text("Paris B-FOO\nis O\n", encoding="utf-8")
    result = invoke(["evaluate", path, "--model", ner_model.path, "--cache-dir", tmp_path / "c"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"tagger: error: {path}: label(s) the model does not know: B-FOO; the model's labels: O," in result.stderr


def test_invalid_gold_sequences_are_refused_or_repaired(ner_model: Trained, tmp_path: Path) -> None:
    path = tmp_path / "slip.conll"
    sentences = [(text, tags) for text, tags in NER_SENTENCES[:4]] + [("in Paris", "I-LOC O")]  # IOB2: I- after nothing
    path.write_text(conll_text(sentences, columns="two"), encoding="utf-8")
    args = ["evaluate", path, "--model", ner_model.path, "--cache-dir", tmp_path / "c", "--json"]
    refused = invoke(args)
    assert refused.exit_code == 2 and f"{path}:35: I-LOC starts the sentence (IOB2)" in refused.stderr
    assert "--repair-tags" in refused.stderr
    repaired = invoke([*args, "--repair-tags"])
    assert repaired.exit_code == 0, repaired.output
    assert f"tagger: note: repaired 1 tag sequence the conlleval way in {path}" in repaired.stderr
    assert json.loads(repaired.stdout)["per_type"]["LOC"]["support"] == 4


def test_a_known_corpus_split(ner_model: Trained, tmp_path: Path) -> None:
    corpus_dir = tmp_path / "data" / "conll2003"
    corpus_dir.mkdir(parents=True)
    iob1 = [(text, " ".join("I" + t[1:] if t.startswith("B-") else t for t in tags.split())) for text, tags in NER_SENTENCES]
    (corpus_dir / "train.txt").write_text(conll_text(iob1), encoding="utf-8")
    (corpus_dir / "dev.txt").write_text(conll_text(iob1[:4]), encoding="utf-8")
    args = ["evaluate", "--dataset", "conll2003", "--data-dir", tmp_path / "data", "--model", ner_model.path, "--cache-dir", tmp_path / "c"]
    result = invoke([*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["f1"] == 1.0 and report["sentences"] == 4
    assert json.loads(invoke([*args, "--split", "train", "--json"]).stdout)["sentences"] == 6
    missing = invoke([*args, "--split", "test"])
    assert missing.exit_code == 2 and "conll2003 has no 'test' split here; splits: train, validation" in missing.stderr


def test_file_or_dataset(ner_model: Trained, data: Data) -> None:
    for args in ([], [str(data.dev), "--dataset", "conll2003"]):
        result = invoke(["evaluate", *args, "--model", ner_model.path])
        assert result.exit_code == 2 and "give a labelled FILE or --dataset NAME" in result.stderr


def test_errors_the_model_makes_are_counted(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    """Gold tags the model will not predict lower the scores: the numbers are computed, not constant."""
    swapped = [(text, tags.replace("PER", "TMP").replace("LOC", "PER").replace("TMP", "LOC")) for text, tags in NER_SENTENCES]
    path = tmp_path / "swapped.conll"
    path.write_text(conll_text(swapped, columns="two"), encoding="utf-8")
    import tagger
    from tagger.corpora import load_corpus

    report = tagger.evaluate(ner_model.path, load_corpus(path, cache_dir=tmp_path / "c"), "tags")
    assert report.per_type["PER"].f1 == 0.0 and report.per_type["ORG"].f1 == 1.0
    assert 0.0 < report.f1 < 1.0


def test_pos_model_on_conllu(pos_model: Trained, data: Data) -> None:
    result = invoke(["evaluate", data.conllu, "--model", pos_model.path, "--cache-dir", data.cache, "--tag-column", "upos", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scheme"] == "plain" and set(report["per_type"]) == {"ADP", "ADV", "DET", "NOUN", "VERB"}


def test_evaluate_help_has_an_example() -> None:
    result = invoke(["evaluate", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "tagger evaluate dev.txt --model" in result.stdout


# ----------------------------------------------------------------------------- tagger info


def test_info_text_and_json(ner_model: Trained) -> None:
    text = invoke(["info", "--model", ner_model.path])
    assert text.exit_code == 0, text.output
    assert "labels       (8) O B-LOC I-LOC B-MISC B-ORG I-ORG B-PER I-PER" in text.stdout
    assert "scheme       IOB2" in text.stdout and "hidden_size        16" in text.stdout and "micro avg" in text.stdout
    as_json = invoke(["info", "--model", ner_model.path, "--json"])
    info = json.loads(as_json.stdout)
    assert info["model"]["cell"] == "lstm" and info["training"]["optimizer"] == "adam"
    assert info["parameters"] > 0 and info["size_bytes"] > 0 and "model.safetensors" in info["files"]
    assert info["scores"]["validation"]["f1"] == 1.0 and set(info["scores"]) == {"validation", "test"}


def test_info_help_has_an_example() -> None:
    result = invoke(["info", "--help"])
    assert result.exit_code == 0 and "tagger info --model models/ner" in result.stdout


def test_evaluate_scores_with_the_engine_tag_would_use(ner_model: Trained, data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    """--engine picks what computes the network, as for ``tagger tag``; auto on this CPU machine is numpy."""
    from tagger import engines

    loaded = []
    real_load = engines.load

    def recording_load(path, **options):  # type: ignore[no-untyped-def]
        tagger = real_load(path, **options)
        loaded.append(type(tagger).__name__)
        return tagger

    monkeypatch.setattr(engines, "load", recording_load)
    monkeypatch.setattr(engines, "gpu_visible", lambda: False)
    reports = {}
    for engine in ("auto", "numpy", "torch"):
        result = invoke(["evaluate", data.dev, "--model", ner_model.path, "--cache-dir", data.cache, "--json", "--engine", engine])
        assert result.exit_code == 0, result.output
        reports[engine] = json.loads(result.stdout)
    assert loaded == ["NumpyTagger", "NumpyTagger", "Tagger"]
    assert reports["numpy"] == reports["torch"] == reports["auto"]


def test_evaluate_refuses_an_engine_that_cannot_run_on_the_device(ner_model: Trained, data: Data) -> None:
    result = invoke(["evaluate", data.dev, "--model", ner_model.path, "--engine", "numpy", "--device", "cuda"])
    assert result.exit_code == 2 and "--engine numpy runs on the CPU" in result.output


def test_the_library_loads_a_path_with_the_engine_asked_for(ner_model: Trained, data: Data) -> None:
    import tagger
    from tagger.corpora import load_corpus

    gold = load_corpus(data.dev, cache_dir=data.cache)["train"]
    scores = {engine: tagger.evaluate(ner_model.path, gold, "tags", engine=engine, device="cpu").to_dict() for engine in ("numpy", "torch")}
    assert scores["numpy"] == scores["torch"] and scores["numpy"]["f1"] == 1.0
    with pytest.raises(ConfigError, match="--engine must be"):
        tagger.evaluate(ner_model.path, gold, "tags", engine="jax")
