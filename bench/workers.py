"""``tagger tag --workers N`` against one worker on a big file: tokens/s and the same bytes.

    python bench/workers.py --model runs/acc-/conll2003-reference-seed1 --copies 10 --workers 1,2

The file is the CoNLL-2003 dev split written ``--copies`` times (CoNLL input). Each run is one
``tagger tag`` process (start-up and model loading included), timed by wall clock.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    dev = next(p for p in sorted((args.data_dir / "conll2003").iterdir()) if "dev" in p.name or "testa" in p.name)
    with tempfile.TemporaryDirectory() as work:
        big = Path(work) / "big.conll"
        big.write_bytes(dev.read_bytes() * args.copies)
        tokens = sum(1 for line in big.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("-DOCSTART-"))
        results = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            out = Path(work) / f"out-{workers}"
            command = [sys.executable, "-m", "tagger.cli", "tag", str(big), "--input", "conll", "--model", args.model]
            started = time.perf_counter()
            subprocess.run([*command, "--workers", str(workers), "-o", str(out)], check=True)
            seconds = time.perf_counter() - started
            results[workers] = seconds
            digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
            print(f"workers {workers}: {tokens:,} tokens in {seconds:.1f} s = {tokens / seconds:,.0f} tok/s (output sha256 {digest})")
        first = min(results)
        for workers, seconds in results.items():
            print(f"workers {workers}: {results[first] / seconds:.2f}x the speed of {first}")


if __name__ == "__main__":
    main()
