"""Tests for corpora.hf.load_corpus on tiny synthetic corpora, each with its own datasets cache in tmp_path."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import datasets
import pytest

from tagger.corpora import (
    KNOWN_CORPORA,
    default_tag_column,
    label_names,
    load_corpus,
    repair_counts,
    source_scheme,
    tag_scheme,
)
from tagger.corpora.schemas import CHUNK_TAGS, CONLL2003_NER, CONLL2003_POS, UD_UPOS, WNUT17_NER  # noqa: E402
from tagger.errors import ConfigError, CorpusFormatError, InvalidTagSequence  # noqa: E402

CONLL2003_TRAIN = """\
    -DOCSTART- -X- O O

    EU NNP I-NP I-ORG
    rejects VBZ I-VP O
    German JJ I-NP I-MISC
    call NN I-NP O

    Peter NNP I-NP I-PER
    Blackburn NNP I-NP I-PER
    Smith NNP B-NP B-PER
    """
CONLL2003_DEV = """\
    -DOCSTART- -X- O O

    Paris NNP I-NP I-LOC
    """
CONLLU = """\
    # sent_id = s1
    # text = I don't.
    1\tI\tI\tPRON\tPRP\tCase=Nom\t2\tnsubj\t2:nsubj\t_
    2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
    2\tdo\tdo\tAUX\tVBP\t_\t0\troot\t0:root\t_
    3\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t2:advmod\tSpaceAfter=No
    4\t.\t.\tPUNCT\t.\t_\t2\tpunct\t2:punct\t_

    1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_
    """


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write(root / "conll2003" / "train.txt", CONLL2003_TRAIN)
    write(root / "conll2003" / "dev.txt", CONLL2003_DEV)
    write(root / "ud_en_ewt" / "train.conllu", CONLLU)
    write(root / "wnut17" / "train.txt", "@paul\tB-person\nNew York\tB-location\n\t\nok\tO\n")
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


def names(dataset: datasets.Dataset, column: str) -> list[list[str]]:
    feature = dataset.features[column].feature
    return [[feature.int2str(i) for i in row] for row in dataset[column]]


def test_conll2003_features_and_iob2_conversion(data_dir: Path, cache: Path) -> None:
    corpus = load_corpus("conll2003", data_dir, cache_dir=cache)
    assert isinstance(corpus, datasets.DatasetDict)
    assert sorted(corpus) == ["train", "validation"]
    train = corpus["train"]
    assert train.features == datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "pos_tags": datasets.Sequence(datasets.ClassLabel(names=list(CONLL2003_POS))),
            "chunk_tags": datasets.Sequence(datasets.ClassLabel(names=list(CHUNK_TAGS))),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(CONLL2003_NER))),
        }
    )
    assert train["id"] == ["0", "1"]
    assert train["tokens"] == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn", "Smith"]]
    assert names(train, "ner_tags") == [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER", "B-PER"]]
    assert names(train, "chunk_tags") == [["B-NP", "B-VP", "B-NP", "I-NP"], ["B-NP", "I-NP", "B-NP"]]
    assert names(train, "pos_tags")[1] == ["NNP", "NNP", "NNP"]
    assert names(corpus["validation"], "ner_tags") == [["B-LOC"]]
    assert source_scheme(corpus) == "IOB1" and tag_scheme(corpus) == "IOB2"
    assert source_scheme(train, "chunk_tags") == "IOB1" and tag_scheme(train, "pos_tags") == "plain"
    assert default_tag_column(corpus) == "ner_tags"
    assert "IOB1" in train.info.description
    assert label_names(train, "ner_tags") == list(CONLL2003_NER)
    # The result is an ordinary dataset: map and pandas work, and map keeps the recorded schemes.
    mapped = train.map(lambda example: {"length": len(example["tokens"])})
    assert mapped["length"] == [4, 3]
    assert source_scheme(mapped) == "IOB1"
    assert list(train.to_pandas().columns) == ["id", "tokens", "pos_tags", "chunk_tags", "ner_tags"]


def test_conll2003_to_iobes_and_other_tag_column(data_dir: Path, cache: Path) -> None:
    corpus = load_corpus("conll2003", data_dir, cache_dir=cache, to_scheme="BIOES", tag_column="chunk_tags")
    train = corpus["train"]
    assert label_names(train, "ner_tags")[:5] == ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    assert names(train, "ner_tags") == [["S-ORG", "O", "S-MISC", "O"], ["B-PER", "E-PER", "S-PER"]]
    assert tag_scheme(corpus) == "IOBES" and default_tag_column(corpus) == "chunk_tags"
    assert label_names(train, "pos_tags") == list(CONLL2003_POS)
    with pytest.raises(ConfigError, match="no tag column 'ner'"):
        load_corpus("conll2003", data_dir, cache_dir=cache, tag_column="ner")


def test_ud_features(data_dir: Path, cache: Path) -> None:
    corpus = load_corpus("ud_en_ewt", data_dir, cache_dir=cache)
    train = corpus["train"]
    assert list(train.features) == ["idx", "text", "tokens", "lemmas", "upos", "xpos", "feats", "head", "deprel", "deps", "misc"]
    assert train.features["upos"].feature.names == list(UD_UPOS)
    assert train["idx"] == ["s1", "1"]
    assert train["text"] == ["I don't.", "Hi"]
    assert train["tokens"] == [["I", "do", "n't", "."], ["Hi"]]
    assert names(train, "upos") == [["PRON", "AUX", "PART", "PUNCT"], ["INTJ"]]
    assert train["xpos"][0] == ["PRP", "VBP", "RB", "."]
    assert train["head"][0] == ["2", "0", "2", "2"]
    assert label_names(train, "xpos") == [".", "PRP", "RB", "UH", "VBP"]
    assert source_scheme(corpus) == "plain"


def test_wnut17_features(data_dir: Path, cache: Path) -> None:
    train = load_corpus("wnut17", data_dir, cache_dir=cache)["train"]
    assert train.features["ner_tags"].feature.names == list(WNUT17_NER)
    assert train["tokens"] == [["@paul", "New York"], ["ok"]]
    assert names(train, "ner_tags") == [["B-person", "B-location"], ["O"]]


def test_known_corpus_tag_outside_labels_is_a_format_error(tmp_path: Path, cache: Path) -> None:
    write(tmp_path / "conll2003" / "train.txt", "EU NNP I-NP I-ORG\nfoo NNP I-NP I-FOO\n")
    with pytest.raises(CorpusFormatError, match=r"train.txt:2: ner_tags tag 'B-FOO' is not one of the 9"):
        load_corpus("conll2003", tmp_path, cache_dir=cache)


def test_known_corpus_bad_file_error_is_not_wrapped(tmp_path: Path, cache: Path) -> None:
    write(tmp_path / "conll2003" / "train.txt", "EU NNP I-NP I-ORG\nrejects VBZ\n")
    with pytest.raises(CorpusFormatError, match=r"train.txt:2: expected 4 columns"):
        load_corpus("conll2003", tmp_path, cache_dir=cache)


def test_no_local_files_fails_fast_offline(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_corpus("conll2003", tmp_path / "empty", cache_dir=cache)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "conll2003: no local files" in message
    assert "train.txt/dev.txt" in message and str(tmp_path / "empty" / "conll2003") in message
    assert "Hub" in message

    monkeypatch.delenv("TAGGER_DATA", raising=False)
    with pytest.raises(ConfigError, match="set TAGGER_DATA"):
        load_corpus("wnut17", cache_dir=cache)


def test_tagger_data_env_and_split_files(data_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGGER_DATA", str(data_dir))
    assert load_corpus("conll2003", cache_dir=cache)["train"].num_rows == 2
    corpus = load_corpus("conll2003", split_files={"test": "dev.txt"}, cache_dir=cache)
    assert list(corpus) == ["test"] and corpus["test"]["tokens"] == [["Paris"]]


def test_generic_column_file(data_dir: Path, cache: Path) -> None:
    path = data_dir / "conll2003" / "train.txt"
    corpus = load_corpus(path, cache_dir=cache)
    assert list(corpus) == ["train"]
    train = corpus["train"]
    assert list(train.features) == ["tokens", "tags"]
    assert label_names(train, "tags") == ["O", "I-MISC", "I-ORG", "B-PER", "I-PER"]
    assert train.features["tags"].feature.names == ["O", "I-MISC", "I-ORG", "B-PER", "I-PER"]
    assert names(train, "tags")[1] == ["I-PER", "I-PER", "B-PER"]  # no conversion unless asked
    assert source_scheme(train) == "IOB1" and tag_scheme(train) == "IOB1" and default_tag_column(train) == "tags"

    converted = load_corpus(str(path), cache_dir=cache, to_scheme="IOB2")["train"]
    assert converted.features["tags"].feature.names == ["O", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    assert names(converted, "tags")[1] == ["B-PER", "I-PER", "B-PER"]
    assert source_scheme(converted) == "IOB1" and tag_scheme(converted) == "IOB2"


def test_generic_tag_column_choices(data_dir: Path, cache: Path) -> None:
    path = data_dir / "conll2003" / "train.txt"
    by_index = load_corpus(path, cache_dir=cache, tag_column=1)["train"]
    assert by_index.features["tags"].feature.names == ["JJ", "NN", "NNP", "VBZ"]
    assert tag_scheme(by_index) == "plain"
    by_name = load_corpus(path, cache_dir=cache, tag_column="chunk", column_names=["w", "pos", "chunk", "ner"])
    assert names(by_name["train"], "tags")[1] == ["I-NP", "I-NP", "B-NP"]
    with pytest.raises(ConfigError, match="no column named 'ner'"):
        load_corpus(path, cache_dir=cache, tag_column="ner")
    with pytest.raises(ConfigError, match="out of range"):
        load_corpus(path, cache_dir=cache, tag_column=4)
    with pytest.raises(ConfigError, match="token column"):
        load_corpus(path, cache_dir=cache, tag_column=0)
    with pytest.raises(CorpusFormatError, match="expected 3 columns"):
        load_corpus(path, cache_dir=cache, column_names=["w", "pos", "ner"])


def test_generic_conllu_dict_of_splits(data_dir: Path, cache: Path) -> None:
    path = data_dir / "ud_en_ewt" / "train.conllu"
    corpus = load_corpus({"train": path, "validation": path}, cache_dir=cache)
    assert sorted(corpus) == ["train", "validation"]
    assert corpus["train"].features["tags"].feature.names == ["AUX", "INTJ", "PART", "PRON", "PUNCT"]
    xpos = load_corpus({"train": path}, cache_dir=cache, tag_column="XPOS")["train"]
    assert names(xpos, "tags")[0] == ["PRP", "VBP", "RB", "."]
    assert load_corpus({"train": path}, cache_dir=cache, tag_column=2)["train"]["tags"] is not None  # LEMMA
    with pytest.raises(ConfigError, match="token column"):
        load_corpus({"train": path}, cache_dir=cache, tag_column="form")
    with pytest.raises(ConfigError, match="column_names"):
        load_corpus({"train": path}, cache_dir=cache, column_names=["a"] * 10)


def test_cache_sees_edited_files(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "corpus.txt", "a O\n")
    assert load_corpus(path, cache_dir=cache)["train"]["tokens"] == [["a"]]
    assert load_corpus(path, cache_dir=cache)["train"]["tokens"] == [["a"]]  # from the cache
    write(path, "b O\n\nc B-X\n")
    assert load_corpus(path, cache_dir=cache)["train"]["tokens"] == [["b"], ["c"]]
    write(path, "d O\n\ne B-X\n")  # same size: the modification time tells
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_corpus(path, cache_dir=cache)["train"]["tokens"] == [["d"], ["e"]]


def test_bad_arguments(data_dir: Path, cache: Path) -> None:
    with pytest.raises(ConfigError, match="unknown corpus 'conll03'"):
        load_corpus("conll03", data_dir, cache_dir=cache)
    with pytest.raises(ConfigError, match="unknown corpus format"):
        load_corpus(data_dir / "conll2003" / "train.txt", format="json", cache_dir=cache)
    with pytest.raises(ConfigError, match="unknown tag scheme"):
        load_corpus("conll2003", data_dir, to_scheme="BIOLU", cache_dir=cache)
    with pytest.raises(ConfigError, match="bad split name"):
        load_corpus({"dev set": data_dir / "conll2003" / "dev.txt"}, cache_dir=cache)
    with pytest.raises(ConfigError, match="plain"):
        load_corpus("ud_en_ewt", data_dir, to_scheme="IOB2", cache_dir=cache)
    with pytest.raises(CorpusFormatError, match="no such file"):
        load_corpus(data_dir / "nope.txt", cache_dir=cache)
    with pytest.raises(ConfigError, match="split_files"):
        load_corpus(data_dir / "conll2003" / "dev.txt", split_files={"train": "x"}, cache_dir=cache)


def test_known_corpora_table() -> None:
    assert {name: schema.tag_column for name, schema in KNOWN_CORPORA.items()} == {
        "conll2003": "ner_tags",
        "conll2000": "chunk_tags",
        "wnut17": "ner_tags",
        "ud_en_ewt": "upos",
    }
    assert len(CONLL2003_POS) == 47 and len(CHUNK_TAGS) == 23 and len(UD_UPOS) == 18
    assert len(KNOWN_CORPORA["conll2000"].label_names["pos_tags"]) == 44


# ----------------------------------------------------------------------------- gold tags validated at load

IOBES_WITH_A_SLIP = """\
    John S-PER
    lives O

    New B-LOC
    York I-LOC
    is O

    Mary B-PER
    Smith E-PER
    """  # the second sentence never closes its LOC entity


def test_invalid_sequence_names_file_line_and_the_way_out(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "slip.txt", IOBES_WITH_A_SLIP)
    with pytest.raises(InvalidTagSequence) as info:
        load_corpus(path, cache_dir=cache)
    message = str(info.value)
    assert message.startswith(f"{path}:6: ") and "O follows I-LOC (IOBES)" in message
    assert "repair_tags=True" in message and "--repair-tags" in message and "\n" not in message


def test_repair_tags_reads_the_conlleval_way_and_counts(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "slip.txt", IOBES_WITH_A_SLIP)
    corpus = load_corpus(path, cache_dir=cache, repair_tags=True)
    assert names(corpus["train"], "tags")[1] == ["B-LOC", "E-LOC", "O"]
    assert repair_counts(corpus) == {"train": {"tags": 1}}
    assert "repaired 1 tag sequence" in corpus["train"].info.description
    clean = write(tmp_path / "clean.txt", "John S-PER\n")
    assert repair_counts(load_corpus(clean, cache_dir=cache)) == {"train": {"tags": 0}}


def test_a_cached_repaired_copy_does_not_skip_validation(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "slip.txt", IOBES_WITH_A_SLIP)
    load_corpus(path, cache_dir=cache, repair_tags=True)
    load_corpus(path, cache_dir=cache, repair_tags=True)  # from the cache, still counted
    with pytest.raises(InvalidTagSequence, match="slip.txt:6"):
        load_corpus(path, cache_dir=cache)


def test_a_mixture_of_iob2_and_iobes_is_an_error(tmp_path: Path, cache: Path) -> None:
    iob2 = write(tmp_path / "train.txt", "Mary B-PER\nSmith I-PER\nsaw O\n\nRome B-LOC\n")
    iobes = write(tmp_path / "dev.txt", "John S-PER\n")
    with pytest.raises(InvalidTagSequence) as info:
        load_corpus({"train": iob2, "validation": iobes}, cache_dir=cache)
    message = str(info.value)
    assert message.startswith(f"{iob2}:3: ") and "valid IOB2" in message and "mix" in message


def test_unknown_prefix_names_file_and_line_even_with_repair(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "x.txt", "John B-PER\nSmith I-PER\n\nParis X-LOC\n")
    for repair in (False, True):
        with pytest.raises(InvalidTagSequence, match=r"x.txt:4: 'X-LOC' is not a valid IOB2 tag"):
            load_corpus(path, cache_dir=cache, repair_tags=repair)


def test_conllu_tag_errors_name_the_sentence_line(tmp_path: Path, cache: Path) -> None:
    rows = ["1\tNew\t_\tB-LOC\t_\t_\t0\t_\t_\t_", "2\tYork\t_\tE-LOC\t_\t_\t1\t_\t_\t_", "", "# c", "1\tRome\t_\tB-LOC\t_\t_\t0\t_\t_\t_"]
    path = write(tmp_path / "ner.conllu", "\n".join(rows) + "\n")
    with pytest.raises(InvalidTagSequence, match=r"ner.conllu:5: word 1 of the sentence: B-LOC ends the sentence \(IOBES\)"):
        load_corpus(path, cache_dir=cache)


def test_known_corpus_is_repaired_like_its_hub_copy_unless_asked_not_to(tmp_path: Path, cache: Path) -> None:
    slip = CONLL2003_TRAIN + "\n    Reuters NNP I-NP O\n    UEFA NNP I-NP B-ORG\n"  # IOB1: B- after O
    write(tmp_path / "conll2003" / "train.txt", slip)
    corpus = load_corpus("conll2003", tmp_path, cache_dir=cache)
    assert names(corpus["train"], "ner_tags")[-1] == ["O", "B-ORG"]
    assert repair_counts(corpus) == {"train": {"chunk_tags": 0, "ner_tags": 1}}
    with pytest.raises(InvalidTagSequence, match=r"train.txt:13: ner_tags: B-ORG follows O \(IOB1\)"):
        load_corpus("conll2003", tmp_path, cache_dir=cache, repair_tags=False)
