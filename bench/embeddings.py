"""Benchmark of tagger.embeddings.build_matrix: seconds and peak RSS on big synthetic vector files.

Writes a synthetic word2vec binary (default 1,000,000 x 300, ~1.2 GB, written with numpy), a
smaller word2vec text file and a small gensim-trained fastText .bin into a work directory, then
measures each case in a fresh subprocess, so that a case's peak RSS is that child's own (VmHWM):

- build_matrix with a 25k-word training vocabulary and 5k extra (dev/test) words;
- build_matrix with max_vectors=100,000;
- gensim's own load of the whole file, for comparison.

Prints one JSON line with every figure, then a table. Targets: < 60 s and peak RSS < 2x the
file's raw matrix size; < matrix + 300 MB with max_vectors.

usage: python bench/embeddings.py [--rows 1000000] [--dim 300] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: `python bench/embeddings.py`

LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


# --------------------------------------------------------------------------- synthetic data


def synthetic_words(rows: int, seed: int) -> list[str]:
    """``rows`` distinct lowercase words; every tenth ends in "00" so digit-normalised lookups hit."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 8, size=rows)
    letters = LETTERS[rng.integers(0, 26, size=int(lengths.sum()))].tobytes().decode("ascii")
    words = []
    start = 0
    for index, length in enumerate(lengths.tolist()):
        stem = letters[start : start + length] + base26(index)  # the index suffix makes every word unique
        start += length
        words.append(stem + "00" if index % 10 == 3 else stem)
    return words


def base26(number: int) -> str:
    """``number`` written in letters a-z (0 -> "a", 26 -> "ba")."""
    digits = []
    while True:
        number, rest = divmod(number, 26)
        digits.append(chr(97 + rest))
        if number == 0:
            return "".join(reversed(digits))


def write_word2vec_binary(path: Path, words: list[str], dim: int, seed: int) -> None:
    """A word2vec binary file of random float32 vectors, written in batches straight from numpy."""
    rng = np.random.default_rng(seed)
    batch = 20_000
    with open(path, "wb") as out:
        out.write(f"{len(words)} {dim}\n".encode())
        for start in range(0, len(words), batch):
            chunk = words[start : start + batch]
            vectors = rng.standard_normal((len(chunk), dim), dtype=np.float32).astype("<f4")
            raw = vectors.tobytes()
            step = 4 * dim
            out.write(b"".join(word.encode("utf-8") + b" " + raw[i * step : (i + 1) * step] for i, word in enumerate(chunk)))


def write_word2vec_text(path: Path, words: list[str], dim: int, seed: int) -> None:
    """A word2vec text file ("N D" header, 5-decimal values)."""
    rng = np.random.default_rng(seed)
    row_format = " ".join(["%.5f"] * dim)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"{len(words)} {dim}\n")
        for start in range(0, len(words), 10_000):
            chunk = words[start : start + 10_000]
            vectors = rng.standard_normal((len(chunk), dim), dtype=np.float32)
            out.write("".join(f"{word} {row_format % tuple(row)}\n" for word, row in zip(chunk, vectors.tolist())))


def training_words(file_words: list[str], vocab_size: int, extra_size: int, seed: int) -> tuple[list[str], list[str]]:
    """A training vocabulary and extra words that exercise every lookup path.

    Vocabulary: 60% file words as they are, 15% capitalised (lowercase hit), 5% with the "00" of a
    file word replaced by other digits (digit hit), 20% absent; spread over the whole file.
    Extra: half file words not in the vocabulary, half absent.
    """
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(file_words), size=vocab_size + extra_size, replace=False)
    vocab = ["<pad>", "<unk>"]
    digit_words = [file_words[i] for i in range(3, len(file_words), 10)]
    digit_picks = rng.choice(len(digit_words), size=vocab_size // 20, replace=False)
    for n in range(vocab_size):
        share = n / vocab_size
        if share < 0.60:
            vocab.append(file_words[picks[n]])
        elif share < 0.75:
            vocab.append(file_words[picks[n]].capitalize())
        elif share < 0.80:
            vocab.append(digit_words[digit_picks[n % len(digit_picks)]][:-2] + f"{n % 90 + 10}")
        else:
            vocab.append(f"absent{n}Q")
    vocab = list(dict.fromkeys(vocab))  # a few digit variants may coincide
    extra = [file_words[i] for i in picks[vocab_size : vocab_size + extra_size // 2]]
    extra += [f"unseen{n}Z" for n in range(extra_size - len(extra))]
    return vocab, extra


def train_fasttext(path: Path, words: list[str], dim: int, seed: int) -> dict:
    """A small gensim FastText trained on synthetic Zipf-like sentences, saved as a Facebook .bin."""
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.3, size=400_000), len(words)) - 1
    tokens = [words[r] for r in ranks.tolist()]
    sentences = [tokens[i : i + 20] for i in range(0, len(tokens), 20)]
    started = time.perf_counter()
    model = FastText(
        sentences,
        vector_size=dim,
        min_count=2,
        epochs=1,
        bucket=200_000,
        workers=2,
        seed=seed,
        min_n=3,
        max_n=5,
    )
    save_facebook_model(model, str(path))
    seconds = round(time.perf_counter() - started, 1)
    return {"vocab": len(model.wv.index_to_key), "dim": dim, "bucket": 200_000, "train_s": seconds}


# --------------------------------------------------------------------------- one measurement per child process


def rss_mb_now() -> float:
    """This process's current RSS."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """This process's peak RSS.

    VmHWM, the high-water mark of the process's own address space. ``ru_maxrss`` would be the
    same figure but for a Linux quirk: exec keeps the larger of the parent's RSS at fork time and
    the child's, so a child of this (big) driver would report the driver's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def child(task_file: str) -> None:
    """Run one task described in a JSON file and print its figures as JSON."""
    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    words = json.loads(Path(task["words"]).read_text(encoding="utf-8")) if task.get("words") else {}
    vocab, extra = words.get("vocab", []), words.get("extra", [])
    kind = task["kind"]
    if kind.startswith("gensim"):
        from gensim.models import KeyedVectors
        from gensim.models.fasttext import load_facebook_vectors
    else:
        from tagger.embeddings import build_matrix
    baseline = rss_mb_now()
    started = time.perf_counter()
    result: dict = {}
    if kind == "build":
        matrix = build_matrix(task["path"], vocab, extra_words=extra, max_vectors=task.get("max_vectors"))
        result = {"rows": len(matrix.words), "coverage": round(matrix.coverage(), 4), "stats": matrix.stats}
    elif kind == "gensim-word2vec":
        kv = KeyedVectors.load_word2vec_format(task["path"], binary=task["binary"])
        result = {"rows": len(kv.index_to_key)}
    elif kind == "gensim-fasttext":
        kv = load_facebook_vectors(task["path"])
        result = {"rows": len(kv.index_to_key)}
    seconds = time.perf_counter() - started
    figures = {"seconds": round(seconds, 2), "baseline_mb": round(baseline, 1), "peak_mb": round(peak_rss_mb(), 1)}
    print(json.dumps({**figures, **result}))


def measure(workdir: Path, name: str, task: dict, matrix_mb: float) -> dict:
    """Run ``task`` in a fresh child process and add the ratios to its figures."""
    task_file = workdir / f"task-{name}.json"
    task_file.write_text(json.dumps(task), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(task_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["case"] = name
    figures["matrix_mb"] = round(matrix_mb, 1)
    figures["peak_over_matrix"] = round(figures["peak_mb"] / matrix_mb, 3)
    figures["growth_over_matrix"] = round((figures["peak_mb"] - figures["baseline_mb"]) / matrix_mb, 3)
    print(f"  {name}: {figures['seconds']} s, peak {figures['peak_mb']} MB", file=sys.stderr, flush=True)
    return figures


# --------------------------------------------------------------------------- driver


def timed(function, *args, **kwargs) -> float:
    """Seconds ``function(*args, **kwargs)`` takes, rounded to 0.1."""
    started = time.perf_counter()
    function(*args, **kwargs)
    return round(time.perf_counter() - started, 1)


def write_words(path: Path, vocab: list[str], extra: list[str]) -> Path:
    """Save a vocabulary and its extra words for the child processes."""
    path.write_text(json.dumps({"vocab": vocab, "extra": extra}), encoding="utf-8")
    return path


def run_cases(
    workdir: Path, name: str, path: Path, word_file: Path, matrix_mb: float, args: argparse.Namespace, binary: bool
) -> list[dict]:
    """build_matrix with extra words, with max_vectors, and gensim's own full load of the same file."""
    build = {"kind": "build", "path": str(path), "words": str(word_file)}
    return [
        measure(workdir, f"{name} build ({args.vocab // 1000}k+{args.extra // 1000}k extra)", build, matrix_mb),
        measure(workdir, f"{name} build max_vectors={args.max_vectors}", {**build, "max_vectors": args.max_vectors}, matrix_mb),
        measure(
            workdir, f"{name} gensim load_word2vec_format", {"kind": "gensim-word2vec", "path": str(path), "binary": binary}, matrix_mb
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the files, measure every case, print the JSON line and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the word2vec binary")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--text-rows", type=int, default=200_000, help="rows of the word2vec text file (0: skip)")
    parser.add_argument("--vocab", type=int, default=25_000, help="training vocabulary size")
    parser.add_argument("--extra", type=int, default=5_000, help="extra (dev/test) words")
    parser.add_argument("--max-vectors", type=int, default=100_000)
    parser.add_argument("--no-fasttext", action="store_true")
    parser.add_argument("--workdir", type=Path, help="where the big files go (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tagger-bench-embeddings-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    setup: dict = {
        "rows": args.rows,
        "dim": args.dim,
        "vocab": args.vocab,
        "extra": args.extra,
        "max_vectors": args.max_vectors,
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        words = synthetic_words(args.rows, seed=1)
        binary = workdir / "vectors.bin"
        setup["write_binary_s"] = timed(write_word2vec_binary, binary, words, args.dim, seed=2)
        setup["binary_file_mb"] = round(binary.stat().st_size / 1e6, 1)
        print(f"word2vec binary {args.rows} x {args.dim}: {setup['binary_file_mb']} MB", file=sys.stderr, flush=True)
        word_file = write_words(workdir / "words.json", *training_words(words, args.vocab, args.extra, seed=3))
        results += run_cases(workdir, "w2v-bin", binary, word_file, args.rows * args.dim * 4 / 1e6, args, True)
        if not args.keep:
            binary.unlink()

        if args.text_rows:
            text = workdir / "vectors.txt"
            text_words = words[: args.text_rows]
            setup["text_rows"] = args.text_rows
            setup["write_text_s"] = timed(write_word2vec_text, text, text_words, args.dim, seed=4)
            setup["text_file_mb"] = round(text.stat().st_size / 1e6, 1)
            print(f"word2vec text {args.text_rows} x {args.dim}: {setup['text_file_mb']} MB", file=sys.stderr)
            text_word_file = write_words(workdir / "text-words.json", *training_words(text_words, args.vocab, args.extra, seed=5))
            matrix_mb = args.text_rows * args.dim * 4 / 1e6
            results += run_cases(workdir, "w2v-text", text, text_word_file, matrix_mb, args, False)
            if not args.keep:
                text.unlink()

        if not args.no_fasttext:
            fasttext = workdir / "fasttext.bin"
            ft_words = words[:50_000]
            setup["fasttext"] = train_fasttext(fasttext, ft_words, 100, seed=6)
            setup["fasttext"]["file_mb"] = round(fasttext.stat().st_size / 1e6, 1)
            print(f"fastText .bin: {setup['fasttext']}", file=sys.stderr, flush=True)
            ft_vocab_size = min(args.vocab, 20_000)
            ft_word_file = write_words(workdir / "fasttext-words.json", *training_words(ft_words, ft_vocab_size, args.extra, seed=7))
            ft_mb = setup["fasttext"]["file_mb"]  # fastText: compare with the whole model (words + n-grams)
            build = {"kind": "build", "path": str(fasttext), "words": str(ft_word_file)}
            label = f"fastText build ({ft_vocab_size // 1000}k+{args.extra // 1000}k extra)"
            results.append(measure(workdir, label, build, ft_mb))
            load = {"kind": "gensim-fasttext", "path": str(fasttext)}
            results.append(measure(workdir, "fastText gensim load_facebook_vectors", load, ft_mb))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(json.dumps({"bench": "embeddings", "setup": setup, "results": results}))
    print()
    header = (
        f"{'case':44} {'s':>7} {'base MB':>8} {'peak MB':>8} {'matrix MB':>9} {'peak/mat':>8} {'grow/mat':>8} {'rows':>8} {'coverage':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['case']:44} {r['seconds']:7.2f} {r['baseline_mb']:8.1f} {r['peak_mb']:8.1f} {r['matrix_mb']:9.1f} "
            f"{r['peak_over_matrix']:8.3f} {r['growth_over_matrix']:8.3f} {r['rows']:8d} {r.get('coverage', ''):>8}"
        )
    print("(matrix MB: the file's raw float32 matrix, rows x dim x 4; for fastText, the .bin file size.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
