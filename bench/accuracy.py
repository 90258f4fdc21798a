"""Reproduces the README's accuracy table: trains the reference tagger (and variants) on the shared
corpora and prints dev scores (and test scores for the test files you pass), one JSON line per
run, then a table with the mean and standard deviation over seeds.

    python bench/accuracy.py --seeds 1,2,3 --readme README.md   # all tasks; rewrites the README table
    python bench/accuracy.py --tasks conll2003 --variants reference,bigru,softmax --seeds 1,2,3
    python bench/accuracy.py --tasks conll2003 --test conll2003=path/to/test.txt

Dev splits are for tuning; a test file is only scored (never used to choose anything). Each run
also reloads the saved model and checks that it tags the dev split identically.
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
from typing import Dict, List, Optional, Sequence

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


README_START = "<!-- accuracy-table: written by bench/accuracy.py --readme; do not edit by hand -->"
README_END = "<!-- accuracy-table: end -->"
TASK_NAMES = {
    "conll2003": "CoNLL-2003 NER (F1)",
    "ud_en_ewt": "UD English EWT UPOS (accuracy)",
    "wnut17": "WNUT-17 NER (F1)",
    "conll2000": "CoNLL-2000 chunking (F1; dev = last 1,000 train sentences)",
}


def load_task(task: str, data_dir: Path, test_file: Optional[str] = None):
    from tagger import corpora

    corpus, column, carve = TASKS[task]
    splits = {"test": str(Path(test_file).resolve())} if test_file else None
    dd = corpora.load_corpus(corpus, data_dir=data_dir, split_files=splits)
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

    dd, column = load_task(task, args.data_dir, args.test.get(task))
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
    parser.add_argument("--test", action="append", default=[], metavar="TASK=FILE", help="score this held-out test file too (repeatable)")
    parser.add_argument("--from-records", type=Path, nargs="+", help="train nothing: summarise these records.jsonl files of earlier runs")
    parser.add_argument("--readme", type=Path, help="write the table between the accuracy-table markers of this README")
    args = parser.parse_args()
    try:
        args.test = dict(item.split("=", 1) for item in args.test)
    except ValueError:
        parser.error("--test takes TASK=FILE")
    unknown = set(args.test) - set(TASKS)
    if unknown:
        parser.error(f"--test: unknown task(s) {', '.join(sorted(unknown))}")
    if args.from_records:
        records = [json.loads(line) for path in args.from_records for line in path.read_text(encoding="utf-8").splitlines() if line]
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        embeddings = None if args.no_embeddings else (args.embeddings or glove_path(args.data_dir))
        records = []
        for task in args.tasks.split(","):
            for variant in args.variants.split(","):
                for seed in args.seeds.split(","):
                    records.append(run(task, variant, int(seed), args, embeddings))
                    with open(args.out / "records.jsonl", "a", encoding="utf-8") as log:
                        log.write(json.dumps(records[-1]) + "\n")
    rows = summarise(records)
    print()
    print(markdown_table(rows))
    if args.readme:
        command = " ".join(["python", "bench/accuracy.py", *sys.argv[1:]]).replace(str(Path.cwd()) + "/", "")
        write_readme_table(args.readme, rows, command)
        print(f"wrote the table into {args.readme}")


def _mean_std(values: Sequence[float]) -> str:
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}{spread}"


def summarise(records: Sequence[dict]) -> List[Dict[str, str]]:
    """One row per (task, variant): dev (and test) mean ± sample standard deviation over the seeds."""
    rows = []
    for task, variant in dict.fromkeys((r["task"], r["variant"]) for r in records):
        runs = [r for r in records if r["task"] == task and r["variant"] == variant]
        dev = [r["dev_score"] * 100 for r in runs]
        tests = [r["test_score"] * 100 for r in runs if r["test_score"] is not None]
        rows.append(
            {
                "task": TASK_NAMES.get(task, task),
                "model": variant,
                "seeds": ", ".join(str(r["seed"]) for r in runs),
                "dev": _mean_std(dev),
                "per seed": ", ".join(f"{score:.2f}" for score in dev),
                "test": _mean_std(tests) if len(tests) == len(runs) else "-",
                "best epoch": ", ".join(str(r["best_epoch"]) for r in runs),
                "minutes": f"{statistics.mean(r['train_minutes'] for r in runs):.1f}",
                "reload identical": "yes" if all(r["reload_identical"] for r in runs) else "NO",
            }
        )
    return rows


def markdown_table(rows: Sequence[Dict[str, str]]) -> str:
    """The rows as a Markdown table, the dev column in bold."""
    if not rows:
        return ""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(f"**{v}**" if k == "dev" else v for k, v in row.items()) + " |")
    return "\n".join(lines)


def write_readme_table(readme: Path, rows: Sequence[Dict[str, str]], command: str) -> None:
    """Replaces the text between the README's accuracy-table markers with the table and its command."""
    from tagger.files import atomic_file

    text = readme.read_text(encoding="utf-8")
    if text.count(README_START) != 1 or text.count(README_END) != 1 or text.index(README_START) > text.index(README_END):
        raise SystemExit(f"{readme}: expected one pair of accuracy-table markers ({README_START} ... {README_END})")
    before, rest = text.split(README_START)
    after = rest.split(README_END)[1]
    table = f"{README_START}\n`{command}`:\n\n{markdown_table(rows)}\n{README_END}"
    with atomic_file(readme) as out:
        out.write(before + table + after)


if __name__ == "__main__":
    main()
