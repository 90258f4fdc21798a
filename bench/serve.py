"""Load on ``tagger serve``: requests/s, tokens/s, latency percentiles, errors and the server's RSS
at 1, 8 and 32 concurrent clients sending CoNLL-2003 dev sentences, against the in-process
``predict`` of the same engine at batch 256.

The server runs in a subprocess on loopback (``tagger serve --port 0``). Each client count runs for
``--seconds``; each client (an asyncio task sharing one httpx connection pool) sends one dev
sentence per request as ``{"tokens": [[...]]}``, the next as soon as the last is answered. The
server's RSS is sampled every ``--rss-every`` seconds from /proc (Linux), to show whether it stays
flat; its peak is VmHWM. Then the server stops (SIGTERM) and the same engine tags the same
sentences in this process with ``predict(..., batch_size=256)``, for the ratio.

    python bench/serve.py                                        # 60 s each at 1, 8, 32 clients
    python bench/serve.py --seconds 3 --clients 1,2 --limit 200  # does it run (no timing value)

Goals (issue 14, 2-core machine): at 32 clients tokens/s >= 0.5x predict, 0 errors, p99 < 250 ms, RSS flat.
Prints one JSON line per client count, then a table and the goals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_MODEL = ROOT / "runs" / "acc-" / "conll2003-reference-seed1"


def dev_sentences(data_dir: Optional[str], limit: Optional[int]) -> List[List[str]]:
    from tagger import corpora

    split = corpora.load_corpus("conll2003", data_dir=data_dir)["validation"]
    sentences = [list(tokens) for tokens in split["tokens"] if tokens]
    return sentences[:limit] if limit else sentences


def start_server(args: argparse.Namespace) -> Tuple[subprocess.Popen, str]:
    """``tagger serve`` on a free loopback port; returns the process and its URL (from uvicorn's startup line)."""
    command = [sys.executable, "-m", "tagger", "serve", "--model", str(args.model), "--port", "0", "--engine", args.engine]
    command += ["--max-batch-tokens", str(args.max_batch_tokens), "--max-wait-ms", str(args.max_wait_ms)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # keep the pipe drained
            return process, found.group(1)
        print(line, end="", file=sys.stderr)
    raise SystemExit(f"the server did not start (exit {process.wait()})")


def rss_mb(pid: int, field: str = "VmRSS") -> Optional[float]:
    """A process's resident set (or, with ``VmHWM``, its peak) in MB, from /proc; None off Linux."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """Samples a process's RSS every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: List[Tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - start, value))
            self.stopped.wait(self.every)


async def load(url: str, sentences: List[List[str]], clients: int, seconds: float) -> Dict[str, object]:
    """``clients`` tasks posting one sentence each, back to back, for ``seconds``; what they measured."""
    import httpx

    latencies: List[float] = []
    tokens = errors = 0
    next_sentence = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:

        async def one_client() -> None:
            nonlocal tokens, errors, next_sentence
            while time.monotonic() < deadline:
                sentence = sentences[next_sentence % len(sentences)]
                next_sentence += 1
                started = time.perf_counter()
                try:
                    response = await client.post("/tag", json={"tokens": [sentence]})
                    ok = response.status_code == 200 and len(response.json()["sentences"][0]["tags"]) == len(sentence)
                except (httpx.HTTPError, ValueError, KeyError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                if ok:
                    tokens += len(sentence)
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "tokens_per_s": round(tokens / elapsed),
        "p50_ms": round(percentile(0.50), 1),
        "p95_ms": round(percentile(0.95), 1),
        "p99_ms": round(percentile(0.99), 1),
        "errors": errors,
    }


def predict_tokens_per_s(model: Path, engine: str, sentences: List[List[str]], seconds: float) -> float:
    """Tokens/s of ``predict(..., batch_size=256)`` in this process, repeated over the sentences for about ``seconds``."""
    import tagger

    tagger_ = tagger.load(model, engine=engine)
    tagger_.predict(sentences[:256], batch_size=256)  # warm up
    total = sum(len(s) for s in sentences)
    tokens, started = 0, time.perf_counter()
    while True:
        tagger_.predict(sentences, batch_size=256)
        tokens += total
        if time.perf_counter() - started >= seconds:
            return tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="a model directory (default: the CoNLL-2003 reference run)")
    parser.add_argument("--data-dir", default=os.environ.get("TAGGER_DATA") or str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each client count runs")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--engine", default="auto", help="the server's engine (and the in-process one's)")
    parser.add_argument("--max-batch-tokens", type=int, default=4096)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--limit", type=int, default=None, help="send only the first N dev sentences")
    parser.add_argument("--rss-every", type=float, default=1.0, help="seconds between two RSS samples")
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]

    sentences = dev_sentences(args.data_dir, args.limit)
    print(f"{len(sentences)} dev sentences, {sum(map(len, sentences))} tokens; model {args.model}", file=sys.stderr)
    process, url = start_server(args)
    rows = []
    try:
        import httpx

        engine = httpx.get(f"{url}/info", timeout=30).json()["engine"]
        for clients in counts:
            sampler = RssSampler(process.pid, args.rss_every)
            sampler.start()
            row = asyncio.run(load(url, sentences, clients, args.seconds))
            sampler.stopped.set()
            sampler.join()
            values = [value for _, value in sampler.samples]
            settled = values[len(values) // 10 :] or values  # after the first tenth: buffers have grown to size
            row.update(
                engine=engine,
                rss_mb_start=round(values[0], 1) if values else None,
                rss_mb_end=round(values[-1], 1) if values else None,
                rss_mb_growth=round(settled[-1] - settled[0], 1) if settled else None,
                rss_mb_series=[round(value) for value in values],
                peak_rss_mb=round(rss_mb(process.pid, "VmHWM") or 0, 1),
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    predicted = predict_tokens_per_s(args.model, engine, sentences, min(args.seconds, 20.0))

    print(f"\nserver exit status after SIGTERM: {exit_code}; in-process predict ({engine}, batch 256): {predicted:,.0f} tokens/s\n")
    header = f"{'clients':>7} {'req/s':>8} {'tok/s':>9} {'x predict':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}"
    header += f" {'peak MB':>8} {'RSS MB start->end (growth)':>27}"
    print(header)
    for row in rows:
        ratio = row["tokens_per_s"] / predicted  # type: ignore[operator]
        rss = f"{row['rss_mb_start']} -> {row['rss_mb_end']} ({row['rss_mb_growth']:+})"
        print(
            f"{row['clients']:>7} {row['requests_per_s']:>8} {row['tokens_per_s']:>9} {ratio:>9.2f} {row['p50_ms']:>7} "
            f"{row['p95_ms']:>7} {row['p99_ms']:>7} {row['errors']:>6} {row['peak_rss_mb']:>8} {rss:>27}"
        )
    last = rows[-1]
    print(f"\ngoals at {last['clients']} clients:")
    checks = [
        ("tokens/s >= 0.5x predict", last["tokens_per_s"] >= 0.5 * predicted),  # type: ignore[operator]
        ("0 errors", last["errors"] == 0),
        ("p99 < 250 ms", last["p99_ms"] < 250),  # type: ignore[operator]
        ("RSS flat (growth < 5% after the first tenth)", abs(last["rss_mb_growth"] or 0) < 0.05 * (last["rss_mb_end"] or 1)),  # type: ignore[operator]
    ]
    for name, met in checks:
        print(f"  {'met    ' if met else 'NOT met'}  {name}")


if __name__ == "__main__":
    main()
