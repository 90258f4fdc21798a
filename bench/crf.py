"""Micro-benchmark of tagger.crf.CRF: nll forward+backward, Viterbi and marginals; prints one JSON line.

Usage: ``python bench/crf.py [--batch 32] [--seq-len 40] [--num-tags 17] [--spread 0] [--constrained]
[--device cpu] [--repeat 50]``. The defaults are the reference sizes (a training batch of 32
sentences of 20-40 tokens, 17 IOBES tags). Sentence lengths are drawn uniformly from
[seq_len // 2, seq_len] (one sentence has the full length), so the masks are realistic. Emissions
are standard normal, or uniform over ``--spread`` (e.g. 200: the wide range where the fast forward
algorithm hands sentences to the exact logsumexp form). Figures are medians in milliseconds, and
``nll_tokens_per_s``: real tokens per second of nll forward+backward (the training cost).
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
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=40)
    parser.add_argument("--num-tags", type=int, default=17)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--spread", type=float, default=0.0, help="uniform emissions over this range (0: standard normal)")
    parser.add_argument("--constrained", action="store_true", help="IOBES constraints (num_tags must be 1 + 4k)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    constraints = None
    if args.constrained:
        from tagger.schemes import allowed_transitions

        if (args.num_tags - 1) % 4:
            parser.error("--constrained needs --num-tags 1 + 4k (O and B/I/E/S of k types)")
        labels = ["O"] + [f"{prefix}-T{k}" for k in range((args.num_tags - 1) // 4) for prefix in "BIES"]
        constraints = allowed_transitions(labels, "IOBES")
    crf = CRF(args.num_tags, constraints).to(device)
    lengths = torch.randint(max(1, args.seq_len // 2), args.seq_len + 1, (args.batch,))
    lengths[0] = args.seq_len
    mask = (torch.arange(args.seq_len)[None, :] < lengths[:, None]).to(device)  # (batch, seq_len)
    shape = (args.batch, args.seq_len, args.num_tags)
    if args.spread:
        emissions = ((torch.rand(shape) - 0.5) * args.spread).to(device).requires_grad_(True)
    else:
        emissions = torch.randn(shape, device=device, requires_grad=True)
    tags = torch.zeros(args.batch, args.seq_len, dtype=torch.long, device=device)  # all O: legal under constraints

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

    nll_ms = median_ms(nll_step, device, args.repeat)
    figures = {
        "bench": "crf",
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "seq_len": args.seq_len,
        "num_tags": args.num_tags,
        "spread": args.spread,
        "constrained": args.constrained,
        "tokens": int(lengths.sum()),
        "nll_fwd_bwd_ms": nll_ms,
        "nll_tokens_per_s": int(lengths.sum()) / (nll_ms / 1000),
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
