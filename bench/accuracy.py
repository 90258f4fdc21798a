"""Reproduces the README's accuracy table: trains the reference tagger (and variants) on the shared
corpora and prints dev scores (and test scores when the test files are present), one JSON line per
run, then a table with the mean and spread over seeds.

    python bench/accuracy.py                                   # all tasks, reference model, seed 1
    python bench/accuracy.py --tasks conll2003 --variants reference,bigru,softmax --seeds 1,2,3

Each run also reloads the saved model and checks that it tags the dev split identically.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = {
    # name: (corpus, tag column, carve a dev split of this many sentences off the end of train)
    "conll2003": ("conll2003", "ner_tags", 0),
    "ud_en_ewt": ("ud_en_ewt", "upos", 0),
    "wnut17": ("wnut17", "ner_tags", 0),
    "conll2000": ("conll2000", "chunk_tags", 1000),
}
VARIANTS = {
    "reference": {},
    "bigru": {"cell": "gru"},
    "softmax": {"crf": False},
    "char-lstm": {"char_encoder": "lstm"},
}


def glove_path(data_dir: Path) -> str:
    script = data_dir / "embeddings" / "glove-6b-50d"
    return subprocess.run([sys.executable, str(script)], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]


def load_task(task: str, data_dir: Path):
    import corpora

    corpus, column, carve = TASKS[task]
    dd = corpora.load_corpus(corpus, data_dir=data_dir)
    if carve:
        from datasets import DatasetDict

        train = dd["train"]
        dd = DatasetDict(
            {**dd, "train": train.select(range(len(train) - carve)), "validation": train.select(range(len(train) - carve, len(train)))}
        )
    return dd, column


def run(task: str, variant: str, seed: int, args: argparse.Namespace, embeddings: str | None) -> dict:
    import tagger
    from tagger.api import column_values

    dd, column = load_task(task, args.data_dir)
    out = args.out / f"{task}-{variant}-seed{seed}"
    options = {**VARIANTS[variant], **json.loads(args.options)}
    if args.max_minutes:
        options["max_minutes"] = args.max_minutes
    started = time.perf_counter()
    model = tagger.train(dd, column, out, force=True, seed=seed, embeddings=embeddings, **options)
    seconds = time.perf_counter() - started
    dev_tokens = column_values(dd["validation"], "tokens")
    predicted = model.predict(dev_tokens)
    reloaded = tagger.Tagger.load(out).predict(dev_tokens)
    scores = model.meta["scores"]
    dev = scores["validation"]
    record = {
        "task": task,
        "variant": variant,
        "seed": seed,
        "options": options,
        "dev_f1": dev["f1"],
        "dev_accuracy": dev["accuracy"],
        "dev_score": dev["accuracy"] if dev["scheme"] == "plain" else dev["f1"],
        "test_score": (scores["test"]["accuracy"] if scores["test"]["scheme"] == "plain" else scores["test"]["f1"])
        if "test" in scores
        else None,
        "best_epoch": model.meta["best_epoch"],
        "epochs": model.meta["epochs"],
        "train_minutes": round(seconds / 60, 1),
        "reload_identical": predicted == reloaded,
        "model": str(out),
    }
    print(json.dumps(record), flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--variants", default="reference")
    parser.add_argument("--seeds", default="1")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("TAGGER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    )
    parser.add_argument("--embeddings", help="word vectors (default: GloVe 6B 50d via shared/data/embeddings/glove-6b-50d)")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--max-minutes", type=float, help="cap each run's training time")
    parser.add_argument("--options", default="{}", help="extra tagger.train options as JSON")
    parser.add_argument("--out", type=Path, default=Path("runs/accuracy"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    embeddings = None if args.no_embeddings else (args.embeddings or glove_path(args.data_dir))
    records = [
        run(task, variant, int(seed), args, embeddings)
        for task in args.tasks.split(",")
        for variant in args.variants.split(",")
        for seed in args.seeds.split(",")
    ]
    print(f"\n{'task':<11} {'variant':<10} {'seeds':>5} {'dev':>14} {'test':>8} {'minutes':>8} {'reload ok':>9}")
    for task in args.tasks.split(","):
        for variant in args.variants.split(","):
            runs = [r for r in records if r["task"] == task and r["variant"] == variant]
            dev = [r["dev_score"] * 100 for r in runs]
            spread = f" ± {statistics.stdev(dev):.2f}" if len(dev) > 1 else ""
            tests = [r["test_score"] * 100 for r in runs if r["test_score"] is not None]
            test = f"{statistics.mean(tests):.2f}" if tests else "-"
            minutes = statistics.mean(r["train_minutes"] for r in runs)
            print(
                f"{task:<11} {variant:<10} {len(runs):>5} {statistics.mean(dev):>8.2f}{spread:<6} {test:>8} {minutes:>8.1f} "
                f"{str(all(r['reload_identical'] for r in runs)):>9}"
            )


if __name__ == "__main__":
    main()
