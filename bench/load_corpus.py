"""Benchmark: seconds to read each known corpus split, and to build it as a Hugging Face dataset.

Usage::

    python bench/load_corpus.py [--data-dir DIR] [--corpus conll2003 ...]

For every split it times the bare streaming reader and ``load_corpus`` with an empty cache
(``cold``: parse + Arrow write) and again (``warm``: cache hit), and prints a table followed by
one JSON line with the same figures. The data directory defaults to ``$TAGGER_DATA``, else
``../shared/data`` beside the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tagger.corpora.detect import read_sentences  # noqa: E402
from tagger.corpora.schemas import KNOWN_CORPORA  # noqa: E402


def _default_data_dir() -> Optional[Path]:
    for candidate in (os.environ.get("TAGGER_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def bench(data_dir: Path, corpora_names: list[str]) -> list[dict[str, Any]]:
    """Time reader and ``load_corpus`` per corpus and split; returns one record per split."""
    import datasets

    from tagger.corpora.hf import load_corpus

    datasets.disable_progress_bars()
    records = []
    for name in corpora_names:
        schema = KNOWN_CORPORA[name]
        files = {split: data_dir / name / file for split, file in schema.files.items() if (data_dir / name / file).is_file()}
        if not files:
            print(f"skipping {name}: no files in {data_dir / name}", file=sys.stderr)
            continue
        read_s = {}
        counts = {}
        for split, path in files.items():
            start = time.perf_counter()
            sentences = tokens = 0
            for sentence in read_sentences(path, schema.format):
                sentences += 1
                tokens += len(sentence.tokens)
            read_s[split] = time.perf_counter() - start
            counts[split] = (sentences, tokens)
        with tempfile.TemporaryDirectory() as cache_dir:
            for split, path in files.items():
                # Known-corpus loading, one split at a time, so each split is timed alone.
                start = time.perf_counter()
                load_corpus(name, split_files={split: path}, cache_dir=cache_dir)
                cold_s = time.perf_counter() - start
                start = time.perf_counter()
                dataset = load_corpus(name, split_files={split: path}, cache_dir=cache_dir)
                warm_s = time.perf_counter() - start
                assert dataset[split].num_rows == counts[split][0]
                records.append(
                    {
                        "corpus": name,
                        "split": split,
                        "sentences": counts[split][0],
                        "tokens": counts[split][1],
                        "bytes": os.path.getsize(path),
                        "read_s": round(read_s[split], 3),
                        "load_cold_s": round(cold_s, 3),
                        "load_warm_s": round(warm_s, 3),
                    }
                )
    return records


def main(argv: Optional[list[str]] = None) -> int:
    """Parse arguments, run the benchmark, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=_default_data_dir())
    parser.add_argument("--corpus", action="append", choices=sorted(KNOWN_CORPORA), help="default: all")
    args = parser.parse_args(argv)
    if args.data_dir is None:
        parser.error("no data directory: pass --data-dir or set TAGGER_DATA")
    start = time.perf_counter()
    import datasets  # noqa: F401  (import time is reported separately, not charged to the first corpus)

    import_s = time.perf_counter() - start
    records = bench(args.data_dir, args.corpus or list(KNOWN_CORPORA))
    header = f"{'corpus':<10} {'split':<10} {'sentences':>9} {'tokens':>8} {'MB':>6} {'read s':>7} {'cold s':>7} {'warm s':>7}"
    print(header)
    print("-" * len(header))
    for r in records:
        print(
            f"{r['corpus']:<10} {r['split']:<10} {r['sentences']:>9,} {r['tokens']:>8,} {r['bytes'] / 1e6:>6.2f} "
            f"{r['read_s']:>7.3f} {r['load_cold_s']:>7.3f} {r['load_warm_s']:>7.3f}"
        )
    print(f"(import datasets: {import_s:.2f} s, not included; cold = parse + write Arrow cache, warm = cache hit)")
    print(
        json.dumps(
            {
                "bench": "load_corpus",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "import_datasets_s": round(import_s, 3),
                "results": records,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
