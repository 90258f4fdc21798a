"""One loaded tagger used from 8 threads gives what serial calls give, for every engine.

What makes it safe: a loaded tagger's weights and vocabularies are only read while tagging; each
call builds its own batches and form tables; the one cache written while tagging (the word
vocabulary's fallback lookups) is a dict whose entries are always the same value for a key.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List

import pytest

from tagger import engines
from tests.unit.test_numpy_tagger import TOKENS, random_tagger

THREADS = 8


def _sentences(seed: int, count: int = 60) -> List[List[str]]:
    """Toy sentences and shuffled variants (unknown words included), different for every thread."""
    rng = random.Random(seed)
    words = [token for tokens in TOKENS for token in tokens] + ["Zanzibar", "qwerty", "42", "Ünïcödé"]
    return [rng.sample(words, rng.randint(1, 12)) for _ in range(count)]


@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("crf", [True, False])
def test_one_tagger_from_eight_threads_equals_serial_calls(tmp_path: Path, engine: str, crf: bool) -> None:
    tagger = engines.load(random_tagger(tmp_path / "model", crf=crf), engine=engine, device="cpu")
    work = [_sentences(seed) for seed in range(THREADS * 3)]
    serial = [tagger.predict(sentences, batch_size=7) for sentences in work]
    texts = [" ".join(" ".join(tokens) for tokens in sentences) for sentences in work]
    serial_tagged = [tagger.tag(text) for text in texts]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(lambda sentences: tagger.predict(sentences, batch_size=7), work))
        threaded_tagged = list(pool.map(tagger.tag, texts))
    assert threaded == serial
    assert threaded_tagged == serial_tagged
