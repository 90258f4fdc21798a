"""Tiny models trained in seconds on the toy corpora, for the integration tests (spaCy, datasets.map)."""

from __future__ import annotations

from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

import tagger
from tests.model.toy import TINY, toy_dataset, toy_pos_dataset

PTB_SENTENCES = [
    ("the cat sat on the mat", "DT NN VBD IN DT NN"),
    ("a dog ran", "DT NN VBD"),
    ("dogs run fast", "NNS VBP RB"),
]


def _quiet(_: str) -> None:
    pass


def train_ner(out: Path) -> Path:
    """A BiLSTM-CRF on the toy NER corpus (IOB2), trained until it fits it."""
    tagger.train(toy_dataset(), "ner_tags", out, max_epochs=30, patience=30, seed=1, log=_quiet, **TINY)
    return out


def train_upos(out: Path) -> Path:
    """A softmax tagger of UPOS tags (DET, NOUN, ...)."""
    tagger.train(toy_pos_dataset(), "upos", out, max_epochs=20, crf=False, seed=1, log=_quiet, **TINY)
    return out


def train_ptb(out: Path) -> Path:
    """A softmax tagger of Penn Treebank tags (DT, NN, ...), which are not UPOS tags."""
    labels = sorted({tag for _, tags in PTB_SENTENCES for tag in tags.split()})
    features = Features({"tokens": Sequence(Value("string")), "xpos": Sequence(ClassLabel(names=labels))})
    rows = {"tokens": [s.split() for s, _ in PTB_SENTENCES], "xpos": [[labels.index(t) for t in tags.split()] for _, tags in PTB_SENTENCES]}
    split = Dataset.from_dict(rows, features=features)
    tagger.train(DatasetDict({"train": split, "validation": split}), "xpos", out, max_epochs=20, crf=False, seed=1, log=_quiet, **TINY)
    return out
