"""Tagging on several processes (``tagger tag --workers N``) with the standard library's process pool.

Each worker process loads the model once (``tagger.load``, the engine rule as in one process) and
tags chunks of sentences; results come back in input order. At most ``2 * workers`` chunks are in
flight, so memory stays bounded whatever the size of the input (``ProcessPoolExecutor.map`` would
read the whole input ahead). Workers are started with ``spawn``: no copy of the caller's threads,
locks or CUDA state, and each gets ``threads`` CPU threads (default: the cores shared out), set
before it imports NumPy or torch.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, Iterator, List, Optional, Union

from tagger.errors import ConfigError

if TYPE_CHECKING:
    from tagger.results import InputSentence, TaggedSentence
    from tagger.tagging import TaggerBase

CHUNK_SENTENCES = 2048
"""Sentences a worker tags per task: enough to amortise sending them, small beside memory."""

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_worker_tagger: Optional["TaggerBase"] = None  # the model of this worker process
_worker_options: Dict[str, Any] = {}


def _start_worker(path: str, load_options: Dict[str, Any], tag_options: Dict[str, Any], threads: int) -> None:
    """A worker's initialiser: its thread count first (before NumPy or torch is imported), then the model."""
    global _worker_tagger, _worker_options
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    from tagger.engines import load

    _worker_tagger = load(path, **load_options)
    _worker_options = tag_options
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def _tag_chunk(sentences: List["InputSentence"]) -> List["TaggedSentence"]:
    assert _worker_tagger is not None, "the worker's initialiser loads the model"
    return _worker_tagger.tag(sentences, **_worker_options)


def iter_tag_parallel(
    path: Union[str, Path],
    sentences: Iterable["InputSentence"],
    workers: int,
    *,
    engine: str = "auto",
    device: str = "auto",
    mixed_precision: bool = False,
    allow_download: bool = False,
    batch_size: int = 256,
    chunk_sentences: int = CHUNK_SENTENCES,
    threads: Optional[int] = None,
    **tag_options: Any,
) -> Iterator["TaggedSentence"]:
    """``tagger.load(path).iter_tag(sentences)`` computed by ``workers`` processes, in input order.

    With one worker the model is loaded and run in this process (no pool).

    Args:
        path: A model directory or ``.onnx`` file (each worker loads it).
        sentences: The sentences to tag (``tagger.results.InputSentence``, e.g. from
            ``tagger.corpora.inputs.read_inputs``), read lazily.
        workers: Processes (1 or more).
        engine, device, mixed_precision, allow_download: As for ``tagger.load``.
        batch_size: Sentences per forward pass in a worker.
        chunk_sentences: Sentences per task sent to a worker.
        threads: CPU threads per worker; default: the cores this process may use, shared out.
        **tag_options: ``scores``, ``probs``, ``nbest``, as for ``iter_tag``.

    Raises:
        ConfigError: ``workers``, ``chunk_sentences`` or ``threads`` below 1.
    """
    if workers < 1 or chunk_sentences < 1 or (threads is not None and threads < 1):
        raise ConfigError(f"workers, chunk size and threads must be >= 1, got {workers}, {chunk_sentences}, {threads}")
    import multiprocessing

    from tagger.engines import load

    load_options: Dict[str, Any] = dict(engine=engine, device=device, mixed_precision=mixed_precision, allow_download=allow_download)
    tagger = load(path, **load_options)  # a bad model or option fails here, in one line, before any worker starts
    if workers == 1:
        yield from tagger.iter_tag(sentences, batch_size, **tag_options)
        return
    del tagger
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = threads or max(1, cores // workers)
    options = {"batch_size": batch_size, **tag_options}
    initargs = (str(path), load_options, options, threads)
    context = multiprocessing.get_context("spawn")
    chunks = _chunks(sentences, chunk_sentences)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=initargs)
    try:
        pending: Deque[Future] = deque(pool.submit(_tag_chunk, chunk) for chunk in itertools.islice(chunks, 2 * workers))
        while pending:
            done = pending.popleft().result()
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append(pool.submit(_tag_chunk, chunk))
            yield from done
    finally:  # also when the caller stops reading (an error, Ctrl-C): queued chunks are dropped, not tagged
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(sentences: Iterable["InputSentence"], size: int) -> Iterator[List["InputSentence"]]:
    iterator = iter(sentences)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk
