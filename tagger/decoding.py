"""Viterbi decoding in NumPy, vectorised over a batch: the NumPy and onnxruntime engines' decoder,
and the best path of ``TaggerBase.tag`` for every engine. Nothing here imports torch.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np


def active_rows(lengths: np.ndarray, steps: int) -> np.ndarray:
    """How many rows are still running at each step, shape (steps,), for lengths sorted longest first."""
    assert (np.diff(lengths) <= 0).all(), "rows must be sorted by length, longest first"
    active: np.ndarray = (lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)
    return active


def viterbi(emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Best tag paths, vectorised over the batch (``tagger.crf.CRF.viterbi_tensor``).

    Args:
        emissions: Shape (steps, batch, num_tags), time-major; rows sorted by length, longest first.
        lengths: Shape (batch,).
        start, transitions, end: Scores with forbidden moves already set to ``FORBIDDEN_SCORE``.

    Returns:
        Tag ids, shape (batch, steps), 0 at padding.
    """
    steps, batch, num_tags = emissions.shape
    active = active_rows(lengths, steps)
    score = start + emissions[0]  # shape: (batch, num_tags)
    history = np.zeros((steps, batch, num_tags), dtype=np.intp)
    for t in range(1, steps):
        n = int(active[t])
        # candidates[b, i, j]: best path ending in i at t-1, then moving to j at t.
        candidates = score[:n, :, None] + transitions  # shape: (n, num_tags, num_tags)
        best = candidates.argmax(axis=1)  # shape: (n, num_tags)
        history[t, :n] = best
        score[:n] = np.take_along_axis(candidates, best[:, None, :], axis=1)[:, 0] + emissions[t, :n]
    best_last = (score + end).argmax(axis=1)  # shape: (batch,)
    # Backtracking, every sentence from its own last position: the rows that end at t are
    # active[t + 1]:active[t] (rows are sorted longest first).
    tags = np.zeros((batch, steps), dtype=np.intp)
    current = np.zeros(batch, dtype=np.intp)
    ending = np.append(active, 0)
    for t in range(steps - 1, -1, -1):
        n = int(active[t])
        current[ending[t + 1] : n] = best_last[ending[t + 1] : n]
        tags[:n, t] = current[:n]
        if t:
            current[:n] = history[t, np.arange(n), current[:n]]
    return tags


Scores = Tuple[np.ndarray, np.ndarray, np.ndarray]


def best_paths(emissions: Sequence[np.ndarray], scores: Optional[Scores], block: int = 256) -> List[np.ndarray]:
    """The Viterbi path of each sentence's emissions (``(length, num_tags)`` each), in input order.

    Sentences are decoded ``block`` at a time, sorted by length. ``scores``: the CRF's ``(start,
    transitions, end)`` as ``transition_scores()`` gives them, or None for a softmax model (each
    token's best tag).
    """
    paths: List[np.ndarray] = [np.zeros(len(e), dtype=np.intp) for e in emissions]
    if scores is None:
        return [np.asarray(e).argmax(axis=1) if len(e) else path for e, path in zip(emissions, paths)]
    order = sorted((i for i, e in enumerate(emissions) if len(e)), key=lambda i: -len(emissions[i]))
    for first in range(0, len(order), block):
        rows = order[first : first + block]
        lengths = np.array([len(emissions[i]) for i in rows], dtype=np.int64)
        batch = np.zeros((int(lengths[0]), len(rows), emissions[rows[0]].shape[1]), dtype=np.result_type(*(emissions[i] for i in rows)))
        for r, i in enumerate(rows):
            batch[: lengths[r], r] = emissions[i]
        tags = viterbi(batch, lengths, *scores)
        for r, i in enumerate(rows):
            paths[i] = tags[r, : lengths[r]]
    return paths
