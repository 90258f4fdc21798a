"""Two trainings side by side on one machine: each one's tokens/s against the same training alone.

    python bench/contention.py                      # solo, then a pair, default settings
    python bench/contention.py --env TAGGER_ADAPT_THREADS=0 --env OMP_WAIT_POLICY=PASSIVE

Each run is ``tagger train`` on the first ``--lines`` lines of CoNLL-2003 train (no dev set, the
reference model, default threads) for ``--epochs`` epochs; the figure is the last epoch's
``train_tokens_per_s`` from the model's metrics.jsonl. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TAGGER_DATA", ROOT.parent / "shared" / "data"))


def start(train_file: Path, out: Path, epochs: int, env: Dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "tagger.cli", "train", "--train", str(train_file), "--out", str(out), "--max-epochs", str(epochs)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def last_epoch(out: Path) -> dict:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return records[-1]


def run(train_file: Path, work: Path, jobs: int, epochs: int, env: Dict[str, str], label: str) -> List[float]:
    outs = [work / f"{label}-{i}" for i in range(jobs)]
    started = time.perf_counter()
    processes = [start(train_file, out, epochs, env) for out in outs]
    for process in processes:
        _, err = process.communicate()
        if process.returncode:
            sys.exit(f"training failed:\n{err}")
    seconds = time.perf_counter() - started
    records = [last_epoch(out) for out in outs]
    speeds = [r["train_tokens_per_s"] for r in records]
    threads = [r.get("threads") for r in records]
    print(
        json.dumps(
            {"run": label, "jobs": jobs, "tokens_per_s": [round(s) for s in speeds], "threads": threads, "wall_s": round(seconds, 1)}
        )
    )
    return speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=40000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="Set in both trainings' environment.")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    source = DATA / "conll2003" / "train.txt"
    if not source.is_file():
        sys.exit(f"needs {source} (set TAGGER_DATA)")
    with tempfile.TemporaryDirectory(prefix="tagger-contention-") as tmp:
        work = Path(tmp)
        train_file = work / "train.txt"
        with source.open(encoding="utf-8") as f:
            lines = [next(f) for _ in range(args.lines)]
        train_file.write_text("".join(lines), encoding="utf-8")
        solo = run(train_file, work, 1, args.epochs, env, "solo")[0]
        pair = run(train_file, work, 2, args.epochs, env, "pair")
    print(f"\nsettings: {env or 'defaults'}; cores: {len(os.sched_getaffinity(0))}")
    print(f"solo {solo:,.0f} tok/s; side by side {pair[0]:,.0f} and {pair[1]:,.0f} ({pair[0] / solo:.2f}x and {pair[1] / solo:.2f}x solo)")


if __name__ == "__main__":
    main()
