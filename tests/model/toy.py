"""A toy NER corpus as a DatasetDict, built the way corpora.load_corpus builds real ones."""

from __future__ import annotations

from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

SENTENCES = [
    ("John Smith lives in Paris .", "B-PER I-PER O O B-LOC O"),
    ("The European Commission said on Thursday it disagreed .", "O B-ORG I-ORG O O O O O O"),
    ("Mary flew to New York with British Airways .", "B-PER O O B-LOC I-LOC O B-ORG I-ORG O"),
    ("German officials met in Berlin .", "B-MISC O O O B-LOC O"),
    ("Peter Blackburn", "B-PER I-PER"),
    ("Rain fell on 1996-08-22 in London and Rome .", "O O O O O B-LOC O B-LOC O"),
]


def toy_dataset(sentences=SENTENCES, labels=NER_LABELS, validation: bool = True) -> DatasetDict:
    features = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=labels))})
    rows = {"tokens": [s.split() for s, _ in sentences], "ner_tags": [[labels.index(t) for t in tags.split()] for _, tags in sentences]}
    split = Dataset.from_dict(rows, features=features)
    return DatasetDict({"train": split, "validation": split} if validation else {"train": split})


def toy_pos_dataset() -> DatasetDict:
    sentences = [
        ("the cat sat on the mat", "DET NOUN VERB ADP DET NOUN"),
        ("a dog ran", "DET NOUN VERB"),
        ("dogs run fast", "NOUN VERB ADV"),
    ]
    labels = ["ADP", "ADV", "DET", "NOUN", "VERB"]
    features = Features({"tokens": Sequence(Value("string")), "upos": Sequence(ClassLabel(names=labels))})
    rows = {"tokens": [s.split() for s, _ in sentences], "upos": [[labels.index(t) for t in tags.split()] for _, tags in sentences]}
    split = Dataset.from_dict(rows, features=features)
    return DatasetDict({"train": split, "validation": split})


TINY = dict(
    hidden_size=16,
    char_dim=8,
    char_hidden=8,
    word_dim=16,
    dropout=0.0,
    word_dropout=0.0,
    optimizer="adam",
    lr=0.02,
    batch_size=2,
    progress=False,
)
