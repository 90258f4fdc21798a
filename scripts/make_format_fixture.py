"""Writes a tiny model directory with the tagger found first on sys.path, for the format tests.

    python scripts/make_format_fixture.py SOURCE_ROOT OUT_DIR [--contextual ENCODER_DIR]

SOURCE_ROOT is a checkout of the tagger version whose format the fixture keeps (``git worktree
add /tmp/old <commit>``); OUT_DIR gets the model plus ``expected.json``: the sentences and the
tags that version predicted, which every later version must reproduce (tests/integration/test_formats.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
SENTENCES = [
    ("John Smith lives in Paris .", "B-PER I-PER O O B-LOC O"),
    ("The European Commission said on Thursday it disagreed .", "O B-ORG I-ORG O O O O O O"),
    ("Mary flew to New York with British Airways .", "B-PER O O B-LOC I-LOC O B-ORG I-ORG O"),
    ("German officials met in Berlin .", "B-MISC O O O B-LOC O"),
    ("Peter Blackburn", "B-PER I-PER"),
    ("Rain fell on 1996-08-22 in London and Rome .", "O O O O O B-LOC O B-LOC O"),
]
PROBES = [s.split() for s, _ in SENTENCES] + [["Anna", "visited", "Madrid", "and", "Unseenword", "Corp", "."], ["x"]]
OPTIONS = dict(
    hidden_size=8, char_dim=4, char_hidden=4, word_dim=8, dropout=0.0, word_dropout=0.0, lr=0.05, batch_size=2, max_epochs=15, seed=1
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--contextual", help="encoder directory (format 2 models)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source.resolve()))
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

    import tagger

    features = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=LABELS))})
    rows = {"tokens": [s.split() for s, _ in SENTENCES], "ner_tags": [[LABELS.index(t) for t in tags.split()] for _, tags in SENTENCES]}
    split = Dataset.from_dict(rows, features=features)
    options = dict(OPTIONS, **({"contextual": args.contextual} if args.contextual else {}))
    model = tagger.train(DatasetDict({"train": split, "validation": split}), "ner_tags", args.out, force=True, progress=False, **options)
    commit = subprocess.run(["git", "-C", str(args.source), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    expected = {"tagger_commit": commit, "tagger_version": tagger.__version__, "sentences": PROBES, "tags": model.predict(PROBES)}
    for name in ("metrics.jsonl", "training.png"):  # records of the run, not part of the format
        (args.out / name).unlink(missing_ok=True)
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
