"""Micro-benchmark of tagger.crf.CRF: nll forward+backward, Viterbi and marginals; prints one JSON line.

Usage: ``python bench/crf.py [--batch 256] [--seq-len 40] [--num-tags 17] [--device cpu] [--repeat 20]``.
Sentence lengths are drawn uniformly from [seq_len // 2, seq_len] (one sentence has the full length),
so the masks are realistic. Figures are medians in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tagger.crf import CRF  # noqa: E402


def median_ms(function: Callable[[], object], device: torch.device, repeat: int, warmup: int = 3) -> float:
    """Median wall time of ``function()`` in milliseconds, synchronising CUDA around each call."""
    times = []
    for i in range(warmup + repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the figures as one JSON line and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=40)
    parser.add_argument("--num-tags", type=int, default=17)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    crf = CRF(args.num_tags).to(device)
    lengths = torch.randint(max(1, args.seq_len // 2), args.seq_len + 1, (args.batch,))
    lengths[0] = args.seq_len
    mask = (torch.arange(args.seq_len)[None, :] < lengths[:, None]).to(device)  # (batch, seq_len)
    emissions = torch.randn(args.batch, args.seq_len, args.num_tags, device=device, requires_grad=True)
    tags = torch.randint(args.num_tags, (args.batch, args.seq_len), device=device)

    def nll_step() -> None:
        crf.zero_grad(set_to_none=True)
        emissions.grad = None
        crf.nll(emissions, tags, mask).backward()

    def nll_forward() -> None:
        with torch.no_grad():
            crf.nll(emissions, tags, mask)

    def decode() -> None:
        with torch.no_grad():
            crf.viterbi(emissions, mask)

    def decode_tensor() -> None:
        with torch.no_grad():
            crf.viterbi_tensor(emissions, mask)

    def posteriors() -> None:
        with torch.no_grad():
            crf.marginals(emissions, mask)

    figures = {
        "bench": "crf",
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "seq_len": args.seq_len,
        "num_tags": args.num_tags,
        "tokens": int(lengths.sum()),
        "nll_fwd_bwd_ms": median_ms(nll_step, device, args.repeat),
        "nll_fwd_ms": median_ms(nll_forward, device, args.repeat),
        "viterbi_ms": median_ms(decode, device, args.repeat),
        "viterbi_tensor_ms": median_ms(decode_tensor, device, args.repeat),
        "marginals_ms": median_ms(posteriors, device, args.repeat),
    }
    figures = {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
