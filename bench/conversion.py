"""Token-to-id conversion of the torch engine: the per-sentence loop it had against ``TokenChunk``.

    python bench/conversion.py [--copies 10] [--batch-size 1024]

Both paths turn the CoNLL-2003 dev split (``--copies`` times) into padded batches of word and
form ids with their masks, as ``Tagger`` feeds the network, and are checked to give the same
arrays. Conversion is what caps GPU tagging once the network is fast; this measures it on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable, List, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tagger.batching import FormTable, encode_sentence, make_batch  # noqa: E402
from tagger.corpora.columns import read_columns  # noqa: E402
from tagger.tagging import TokenChunk, sorted_batches  # noqa: E402
from tagger.vocab import PAD, UNK, WordVocab, build_char_vocab  # noqa: E402

Arrays = List[np.ndarray]


def per_sentence(sentences: Sequence[Sequence[str]], words: WordVocab, chars, batch_size: int) -> Arrays:
    """The torch engine's conversion before TokenChunk: encode each sentence, then pad each batch in a loop."""
    forms = FormTable(chars)
    encoded = [encode_sentence(tokens, words, forms) for tokens in sentences]
    out = []
    for indices in sorted_batches([len(s) for s in encoded], batch_size):
        batch = make_batch([encoded[i] for i in indices])
        out.append(batch.words.numpy())
    return out


def chunked(sentences: Sequence[Sequence[str]], words: WordVocab, chars, batch_size: int) -> Arrays:
    """TokenChunk: one form lookup per token, word ids per distinct form, batches gathered by indexing."""
    chunk = TokenChunk(sentences, FormTable(chars))
    form_words = chunk.word_ids(words)
    return [np.where(batch.mask, form_words[batch.forms], 0) for batch in chunk.batches(batch_size)]


def best_seconds(function: Callable[[], Arrays], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    corpus = args.data_dir / "conll2003"
    train = [s.tokens for s in read_columns(str(corpus / "train.txt"))]
    sentences = [s.tokens for s in read_columns(str(corpus / "dev.txt"))] * args.copies
    words = WordVocab([PAD, UNK, *sorted({token.lower() for tokens in train for token in tokens})], lowercase=True)
    chars = build_char_vocab(token for tokens in train for token in tokens)
    tokens = sum(map(len, sentences))
    old = per_sentence(sentences, words, chars, args.batch_size)
    new = chunked(sentences, words, chars, args.batch_size)
    assert len(old) == len(new) and all(np.array_equal(a, b) for a, b in zip(old, new)), "the two conversions differ"
    figures = {}
    for name, function in (("per-sentence", per_sentence), ("TokenChunk", chunked)):
        seconds = best_seconds(partial(function, sentences, words, chars, args.batch_size), args.repeat)
        figures[name] = tokens / seconds
        print(f"{name}: {tokens:,} tokens in {seconds:.3f} s = {figures[name]:,.0f} tokens/s (batch {args.batch_size})")
    print(f"TokenChunk: {figures['TokenChunk'] / figures['per-sentence']:.2f}x the per-sentence conversion")


if __name__ == "__main__":
    main()
