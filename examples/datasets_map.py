"""Predictions as a column of a Hugging Face dataset, with Dataset.map on 2 processes, then scored.

    python examples/datasets_map.py models/ner dev.txt

Each worker loads the model once; the column holds the dataset's own ClassLabel ids.
"""

from __future__ import annotations

import sys

import tagger
from tagger.corpora import load_corpus


def main(model: str, conll_file: str) -> None:
    corpus = load_corpus({"validation": conll_file})
    tagged = tagger.add_predictions(corpus, model, num_proc=2)
    names = tagged["validation"].features["predictions"].feature.names
    first = tagged["validation"][0]
    print(" ".join(f"{token}/{names[label]}" for token, label in zip(first["tokens"], first["predictions"])))
    report = tagger.evaluate(model, tagged, "tags", split="validation", predictions="predictions")  # a CoNLL file's column: tags
    print(f"F1 {report.f1:.4f} on {report.sentences} sentences")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
