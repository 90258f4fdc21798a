"""Bounded-memory tagging: `tagger tag` over token files of growing size; peak RSS must stay flat.

    python bench/streaming.py --model models/ner --sizes 1,10,100      # MB of input per run
    python bench/streaming.py --sizes 1,10                             # trains a tiny model first

Each run is a fresh `tagger tag FILE --input tokens --output jsonl` process writing to /dev/null;
its peak RSS comes from wait4. Prints one JSON line per size, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.throughput import run_child, tagger_command  # noqa: E402

SENTENCES = [
    "Angela Merkel met Emmanuel Macron in Berlin on Tuesday .",
    "Shares of Siemens AG rose 3.2 percent in Frankfurt after the deal .",
    "Manchester United beat Arsenal 2-1 at Old Trafford on Saturday .",
    "The European Commission said on Thursday it disagreed with German advice .",
]


def write_tokens(path: Path, megabytes: float) -> int:
    """Writes about ``megabytes`` MB of token lines; returns the number of tokens."""
    block = "\n".join(SENTENCES) + "\n"
    repeats = max(1, int(megabytes * 1e6 / len(block.encode())))
    with path.open("w", encoding="utf-8") as f:
        for _ in range(repeats):
            f.write(block)
    return repeats * sum(len(s.split()) for s in SENTENCES)


def tiny_model(work: Path, env: dict) -> Path:
    train = work / "train.txt"
    train.write_text("\n\n".join("\n".join(f"{w}\tO" for w in s.split()) for s in SENTENCES) + "\n", encoding="utf-8")
    out = work / "tiny"
    subprocess.run(
        tagger_command() + ["train", "--train", str(train), "--out", str(out), "--max-epochs", "1", "--hidden-size", "32"],
        check=True,
        env=env,
        capture_output=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a model directory (default: a tiny model trained here)")
    parser.add_argument("--sizes", default="1,10,100", help="input sizes in MB")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory(prefix="tagger-stream-") as tmp:
        work = Path(tmp)
        model = args.model or tiny_model(work, env)
        for size in map(float, args.sizes.split(",")):
            path = work / f"input-{size}.tokens"
            tokens = write_tokens(path, size)
            command = tagger_command() + [
                "tag",
                str(path),
                "--input",
                "tokens",
                "--model",
                str(model),
                "--output",
                "jsonl",
                "--batch-size",
                str(args.batch_size),
                "-o",
                os.devnull,
            ]
            _, seconds, _, rss = run_child(command, env)
            row = {"input_mb": size, "tokens": tokens, "seconds": round(seconds, 1), "tokens_per_s": tokens / seconds, "peak_rss_mb": rss}
            rows.append(row)
            print(json.dumps(row), flush=True)
            path.unlink()
    print(f"\n{'input MB':>9} {'tokens':>12} {'seconds':>8} {'tokens/s':>10} {'peak RSS MB':>11}")
    for r in rows:
        print(f"{r['input_mb']:>9.0f} {r['tokens']:>12,} {r['seconds']:>8.1f} {r['tokens_per_s']:>10,.0f} {r['peak_rss_mb']:>11.0f}")


if __name__ == "__main__":
    main()
