"""Confidence and alternatives from a tagger's scores: marginals, span probabilities, n-best paths.

Everything here works on one sentence's emissions (``(length, num_tags)``, columns in the
training scheme's label order) and the CRF's constrained scores ``(start, transitions, end)``,
as every engine's ``emissions()`` and ``transition_scores()`` give them. A softmax model has no
transition scores: it is the CRF whose start, transition and end scores are all 0, under which
the tokens are independent and each one's distribution is the softmax of its emissions. So one
definition and one code path serve both kinds of model.

The distribution is the CRF's: a path ``y`` has score ``s(y) = start[y0] + sum_t emissions[t, yt]
+ sum_t transitions[y(t-1), yt] + end[y(L-1)]`` and probability ``exp(s(y) - logZ)``. Moves scored
at or below ``FORBIDDEN_BELOW`` (the engines put forbidden moves at -10000) get probability
exactly 0: they are ``-inf`` here. Sums over paths run in float64, in log space, with the maximum
subtracted before every exponential, so no sentence length or score range overflows.

Nothing here imports torch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tagger.schemes import Span, normalize_scheme, spans_from_tags, tags_from_spans

FORBIDDEN_BELOW = -5000.0
"""A start, transition or end score at or below this is a forbidden move (the engines use -10000)."""

MAX_NBEST = 1000
"""The most paths ``nbest`` returns per sentence: its memory grows as length * tags * k."""

Scores = Tuple[np.ndarray, np.ndarray, np.ndarray]
"""A CRF's ``(start (T,), transitions (T, T), end (T,))`` scores."""


class Path(NamedTuple):
    """One tag path of a sentence: label ids (training scheme), its score and its probability."""

    ids: Tuple[int, ...]
    score: float  # the unnormalised path score s(y)
    probability: float  # exp(s(y) - logZ)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """``log(sum(exp(x)))`` along ``axis``, stable, ``-inf`` where every term is ``-inf``."""
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for an all -inf slice
        total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    result: np.ndarray = np.squeeze(total, axis=axis)
    return result


def _logsumexp_vector(x: np.ndarray) -> float:
    """``_logsumexp`` of a 1-D array, as a float: the per-span form, without the general one's overhead."""
    peak = float(x.max())
    if peak == -np.inf:
        return peak
    return peak + float(np.log(np.exp(x - peak).sum()))


def _search_scores(emissions: np.ndarray, scores: Optional[Scores], dtype: np.dtype) -> Scores:
    """``scores`` (zeros for a softmax model) in ``dtype``, forbidden moves at ``-inf``, shapes checked."""
    num_tags = emissions.shape[1]
    if scores is None:
        zeros = np.zeros(num_tags, dtype=dtype)
        return zeros, np.zeros((num_tags, num_tags), dtype=dtype), zeros
    start, transitions, end = (np.asarray(part) for part in scores)
    if start.shape != (num_tags,) or transitions.shape != (num_tags, num_tags) or end.shape != (num_tags,):
        raise ValueError(
            f"scores for {num_tags} tags must have shapes ({num_tags},), ({num_tags}, {num_tags}), ({num_tags},); "
            f"got {start.shape}, {transitions.shape}, {end.shape}"
        )
    parts = []
    for part in (start, transitions, end):
        part = part.astype(dtype)
        if np.isnan(part).any():
            raise ValueError("scores contain NaN")
        parts.append(np.where(part <= FORBIDDEN_BELOW, -np.inf, part).astype(dtype))
    return parts[0], parts[1], parts[2]


def _checked(emissions: np.ndarray) -> np.ndarray:
    emissions = np.asarray(emissions)
    if emissions.ndim != 2 or not emissions.shape[1]:
        raise ValueError(f"emissions must have shape (length, num_tags) with num_tags >= 1, got {emissions.shape}")
    if not np.isfinite(emissions).all():
        raise ValueError("emissions must be finite")
    return emissions


class Lattice:
    """Forward-backward over one sentence: ``log_alpha``, ``log_beta`` and ``log_z``, in float64.

    ``log_alpha[t, j]`` is the log-sum of the scores of every path prefix ending in tag j at t (its
    emission included); ``log_beta[t, j]`` of every continuation from tag j at t to the end (the
    end score included, t's emission not); ``log_z`` the log-sum over whole paths.

    Args:
        emissions: Shape (length, num_tags).
        scores: The CRF's constrained ``(start, transitions, end)``; None for a softmax model.

    Raises:
        ValueError: Bad shapes, non-finite emissions, or constraints that allow no path.
    """

    def __init__(self, emissions: np.ndarray, scores: Optional[Scores] = None):
        self.emissions = _checked(emissions).astype(np.float64)
        self.start, self.transitions, self.end = _search_scores(self.emissions, scores, np.dtype(np.float64))
        length, num_tags = self.emissions.shape
        self.log_alpha = np.empty((length, num_tags))
        self.log_beta = np.empty((length, num_tags))
        if not length:
            self.log_z = 0.0  # the empty path, with probability 1
            return
        self.log_alpha[0] = self.start + self.emissions[0]
        for t in range(1, length):
            # shape: (num_tags, num_tags): prefix ending in i at t-1, then the move i -> j.
            self.log_alpha[t] = _logsumexp(self.log_alpha[t - 1][:, None] + self.transitions, axis=0) + self.emissions[t]
        self.log_beta[-1] = self.end
        for t in range(length - 2, -1, -1):
            ahead = self.emissions[t + 1] + self.log_beta[t + 1]  # shape: (num_tags,)
            self.log_beta[t] = _logsumexp(self.transitions + ahead[None, :], axis=1)
        self.log_z = float(_logsumexp(self.log_alpha[-1] + self.end, axis=0))
        if not np.isfinite(self.log_z):
            raise ValueError("the constraints allow no tag path for this sentence")

    @classmethod
    def _of(cls, emissions: np.ndarray, scores: Scores, log_alpha: np.ndarray, log_beta: np.ndarray, log_z: float) -> "Lattice":
        """A lattice computed elsewhere (``lattices``): float64 emissions, the search scores, alpha, beta, logZ."""
        lattice = cls.__new__(cls)
        lattice.emissions = emissions
        lattice.start, lattice.transitions, lattice.end = scores
        lattice.log_alpha, lattice.log_beta, lattice.log_z = log_alpha, log_beta, log_z
        return lattice

    def marginals(self) -> np.ndarray:
        """``P(y_t = j)``, shape (length, num_tags); each row sums to 1."""
        return np.exp(self.log_alpha + self.log_beta - self.log_z)

    def pair_marginals(self) -> np.ndarray:
        """``P(y_t = i, y_(t+1) = j)``, shape (length - 1, num_tags, num_tags)."""
        ahead = self.emissions[1:] + self.log_beta[1:]  # shape: (length - 1, num_tags)
        return np.exp(self.log_alpha[:-1, :, None] + self.transitions[None] + ahead[:, None, :] - self.log_z)

    def path_score(self, ids: Sequence[int]) -> float:
        """The score ``s(y)`` of a whole path (``-inf`` when it uses a forbidden move)."""
        if not len(ids):
            return 0.0
        y = np.asarray(ids)
        total = self.start[y[0]] + self.emissions[np.arange(len(y)), y].sum() + self.transitions[y[:-1], y[1:]].sum() + self.end[y[-1]]
        return float(total)

    def segment_probability(self, first: int, ids: Sequence[int], before: np.ndarray, after: np.ndarray) -> float:
        """The probability that tokens ``first .. first + len(ids) - 1`` carry ``ids``, the token
        before does not carry a tag in ``before`` and the token after not one in ``after``.

        ``log(sum over prefixes ending at first-1 in a tag outside before, of alpha * the move in)
        + the segment's own moves and emissions + log(sum over continuations from a tag outside
        after, of the move out * beta) - logZ``: both sides are one log-sum over the tags allowed there.

        Args:
            first: The segment's first token.
            ids: Its tags.
            before: Bool mask (num_tags,) of the tags excluded just before (ignored at the sentence start).
            after: Bool mask (num_tags,) of the tags excluded just after (ignored at the sentence end).
        """
        y = np.asarray(ids)
        last = first + len(y) - 1
        assert len(y) and 0 <= first and last < len(self.emissions), (first, len(y))
        if first == 0:
            left = self.start[y[0]]
        else:
            left = _logsumexp_vector(np.where(before, -np.inf, self.log_alpha[first - 1] + self.transitions[:, y[0]]))
        inner = self.emissions[np.arange(first, last + 1), y].sum() + self.transitions[y[:-1], y[1:]].sum()
        if last == len(self.emissions) - 1:
            right = self.end[y[-1]]
        else:
            out = self.transitions[y[-1]] + self.emissions[last + 1] + self.log_beta[last + 1]
            right = _logsumexp_vector(np.where(after, -np.inf, out))
        return float(np.exp(left + inner + right - self.log_z))


def lattices(emissions: Sequence[np.ndarray], scores: Optional[Scores] = None, block: int = 256) -> List[Lattice]:
    """``Lattice(e, scores)`` of each sentence's emissions ``e``, computed together.

    The sentences are sorted by length and taken ``block`` at a time: one pass over the positions
    computes every sentence's alpha (left-aligned) and beta (right-aligned, so that each starts at
    its own last token), instead of a pass per sentence. Each pass runs in probability space,
    rescaled at every position (a product with the exponentiated transitions per step instead of
    a log-sum-exp over every pair of tags; ``einsum``, not BLAS, so that a sentence's figures do
    not depend on which others share its block); a block where a reachable entry would fall below float64's normal range is
    computed again in log space, so the figures are ``Lattice``'s to float64 rounding.

    Raises:
        ValueError: As ``Lattice``, for the first sentence that has a problem.
    """
    checked = [_checked(e).astype(np.float64) for e in emissions]
    found: List[Optional[Lattice]] = [None] * len(checked)
    order = sorted((i for i, e in enumerate(checked) if len(e)), key=lambda i: len(checked[i]))
    for i, e in enumerate(checked):
        if not len(e):
            found[i] = Lattice(e, scores)
    if order:
        num_tags = checked[order[0]].shape[1]
        if any(checked[i].shape[1] != num_tags for i in order):
            raise ValueError("every sentence's emissions must have the same number of tags")
        search = _search_scores(checked[order[0]], scores, np.dtype(np.float64))
    for first in range(0, len(order), block):
        rows = order[first : first + block]
        lengths = np.array([len(checked[i]) for i in rows])
        steps = int(lengths.max())
        left = np.zeros((len(rows), steps, num_tags))  # each sentence from position 0
        right = np.zeros((len(rows), steps, num_tags))  # each sentence ending at position steps - 1
        for r, (i, n) in enumerate(zip(rows, lengths)):
            left[r, :n] = checked[i]
            right[r, steps - n :] = checked[i]
        computed = _scaled_block(left, right, lengths, search) or _log_block(left, right, lengths, search)
        alpha, beta, log_z = computed
        if not np.isfinite(log_z).all():
            raise ValueError("the constraints allow no tag path for this sentence")
        for r, (i, n) in enumerate(zip(rows, lengths)):
            found[i] = Lattice._of(checked[i], search, alpha[r, :n], beta[r, steps - n :], float(log_z[r]))
    return [lattice for lattice in found if lattice is not None]


Block = Tuple[np.ndarray, np.ndarray, np.ndarray]
"""A block's ``log_alpha`` (rows, steps, tags; left-aligned), ``log_beta`` (right-aligned) and ``log_z`` (rows,)."""

_SMALLEST = 1e-300
"""Scaled entries below this (near float64's smallest normal number) would lose precision."""


def _log_block(left: np.ndarray, right: np.ndarray, lengths: np.ndarray, scores: Scores) -> Block:
    """Forward-backward of a block in log space: a log-sum-exp over every pair of tags per step."""
    start, transitions, end = scores
    rows, steps, _ = left.shape
    alpha = np.empty(left.shape)
    beta = np.empty(left.shape)
    alpha[:, 0] = start + left[:, 0]
    for t in range(1, steps):
        alpha[:, t] = _logsumexp(alpha[:, t - 1, :, None] + transitions, axis=1) + left[:, t]
    beta[:, -1] = end
    for t in range(steps - 2, -1, -1):
        ahead = right[:, t + 1] + beta[:, t + 1]  # shape: (rows, num_tags)
        beta[:, t] = _logsumexp(transitions[None] + ahead[:, None, :], axis=2)
    last = alpha[np.arange(rows), lengths - 1]  # shape: (rows, num_tags)
    return alpha, beta, _logsumexp(last + end, axis=1)


def _scaled_block(left: np.ndarray, right: np.ndarray, lengths: np.ndarray, scores: Scores) -> Optional[Block]:
    """Forward-backward of a block in probability space, rescaled at each step; None where that loses precision.

    At each position the vector of prefix sums is kept divided by its total (``log_alpha =
    log(scaled) + the running log of the divisors``), and every exponential has its row's maximum
    taken out first, so nothing overflows. An entry can still underflow when its log lies more
    than ~690 below its position's largest: where one that the constraints can reach falls below
    ``_SMALLEST`` (and so would lose precision), the block is left to ``_log_block``.
    """
    start, transitions, end = scores
    rows, steps, num_tags = left.shape
    ahead, behind = _reachable(scores, steps)
    finite = transitions[np.isfinite(transitions)]
    shift = float(finite.max()) if finite.size else 0.0
    moves = np.exp(transitions - shift)  # forbidden moves: exactly 0
    peak_end = float(end[np.isfinite(end)].max()) if np.isfinite(end).any() else 0.0
    exp_end = np.exp(end - peak_end)
    alpha = np.empty(left.shape)
    beta = np.empty(left.shape)
    alpha_log = np.empty((rows, steps))  # the running log of the divisors
    beta_log = np.empty((rows, steps))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for t in range(steps):
            peak = left[:, t].max(axis=1, keepdims=True)
            if t:
                current = np.einsum("ri,ij->rj", alpha[:, t - 1], moves) * np.exp(left[:, t] - peak)
                carried = alpha_log[:, t - 1] + shift
            else:
                current = np.exp(start + left[:, 0] - peak)
                carried = np.zeros(rows)
            if ((current < _SMALLEST) & ahead[t]).any():
                return None
            total = current.sum(axis=1, keepdims=True)
            alpha[:, t] = current / total
            alpha_log[:, t] = carried + (peak + np.log(total))[:, 0]
        for t in range(steps - 1, -1, -1):
            if t == steps - 1:
                current = np.broadcast_to(exp_end, (rows, num_tags))
                peak, carried = np.zeros((rows, 1)), np.full(rows, peak_end)
            else:
                peak = right[:, t + 1].max(axis=1, keepdims=True)
                current = np.einsum("rj,ij->ri", np.exp(right[:, t + 1] - peak) * beta[:, t + 1], moves)
                carried = beta_log[:, t + 1] + shift
            if ((current < _SMALLEST) & behind[t]).any():
                return None
            total = current.sum(axis=1, keepdims=True)
            beta[:, t] = current / total
            beta_log[:, t] = carried + (peak + np.log(total))[:, 0]
        index = np.arange(rows)
        log_z = np.log((alpha[index, lengths - 1] * exp_end).sum(axis=1)) + alpha_log[index, lengths - 1] + peak_end
        return np.log(alpha) + alpha_log[:, :, None], np.log(beta) + beta_log[:, :, None], log_z


def _reachable(scores: Scores, steps: int) -> Tuple[np.ndarray, np.ndarray]:
    """Bool (steps, tags): where a path can be at position t coming from the start, and where it can reach the end from.

    The second is for ``steps - 1 - t`` moves to go (right-aligned rows); the constraints alone decide both.
    """
    start, transitions, end = scores
    allowed = np.isfinite(transitions)
    ahead = np.empty((steps, len(start)), dtype=bool)
    behind = np.empty((steps, len(start)), dtype=bool)
    ahead[0], behind[-1] = np.isfinite(start), np.isfinite(end)
    for t in range(1, steps):
        ahead[t] = (ahead[t - 1][:, None] & allowed).any(axis=0)
        behind[steps - 1 - t] = (allowed & behind[steps - t][None, :]).any(axis=1)
    return ahead, behind


def marginals(emissions: np.ndarray, scores: Optional[Scores] = None) -> np.ndarray:
    """Per-token posterior probabilities ``P(y_t = j)``, shape (length, num_tags), float64.

    Forward-backward for a CRF; for a softmax model (``scores`` None) the softmax of each row.
    """
    return Lattice(emissions, scores).marginals()


# ----------------------------------------------------------------------------- spans


@lru_cache(maxsize=64)
def _joins(labels: Tuple[str, ...], scheme: str) -> np.ndarray:
    """``joins[i, j]``: tag j right after tag i continues i's entity (one span, read as ``spans_from_tags`` reads)."""
    return np.array([[a != "O" and b != "O" and len(spans_from_tags([a, b], scheme)) == 1 for b in labels] for a in labels], dtype=bool)


def span_probabilities(
    emissions: np.ndarray,
    scores: Optional[Scores],
    ids: Sequence[int],
    labels: Sequence[str],
    scheme: str,
    lattice: Optional[Lattice] = None,
) -> Dict[Span, float]:
    """The probability of each entity of a path: that exactly its tokens carry exactly its label.

    For the span of tags ``y[s:e]`` (read by ``spans_from_tags`` in ``scheme``, the training
    scheme), this is ``P(y'[s:e] = y[s:e], y'[s-1] does not continue into s, y'[e] does not
    continue the span)``: the path restricted to the span's tokens equals its tags and the entity
    extends neither way. ``Lattice.segment_probability`` computes it from alpha and beta. The
    tags that continue an entity are those ``spans_from_tags`` joins to it (IOB2 ``I-X`` after
    ``B-X``/``I-X``; in IOBES a span's own ``B .. E`` or ``S`` tags already close it, and the
    constraints give the excluded neighbours probability 0). Under the constraints of IOB2, IOBES
    or BILOU an entity has one tag sequence, so this is the probability that the entity (label,
    start, end) is among the path's entities (in IOB1 its first tag also depends on the entity
    before it, B after one of its type, so it is that with the path's first tag). For a softmax model it is the product of the span's tag
    probabilities and of the neighbours' probabilities of not continuing it.

    Args:
        emissions: Shape (length, num_tags).
        scores: The CRF's constrained scores; None for a softmax model.
        ids: The path (label ids), usually the best one.
        labels: The label of each id.
        scheme: The scheme of ``labels``.
        lattice: ``Lattice(emissions, scores)`` when already computed.

    Returns:
        Each span of the path with its probability.
    """
    lattice = lattice or Lattice(emissions, scores)
    scheme = normalize_scheme(scheme)
    if len(ids) != len(lattice.emissions):
        raise ValueError(f"a path of {len(ids)} tags for {len(lattice.emissions)} tokens")
    joins = _joins(tuple(labels), scheme)
    result = {}
    for span in spans_from_tags([labels[i] for i in ids], scheme):
        segment = ids[span.start : span.end]
        result[span] = lattice.segment_probability(span.start, segment, joins[:, segment[0]], joins[segment[-1]])
    return result


# ----------------------------------------------------------------------------- n-best


def nbest(emissions: np.ndarray, scores: Optional[Scores] = None, k: int = 1, lattice: Optional[Lattice] = None) -> List[Path]:
    """The ``k`` best tag paths, best first, each with its score and probability.

    A k-best Viterbi: for every tag at every position it keeps the k best prefixes ending there
    (rank r of tag j at t comes from the best k of ``prefix(i, r') + transitions[i, j]`` over all
    i, r'), then reads the k best of the last position's ``prefix + end`` back. Paths through a
    forbidden move are never returned, so there are fewer than k when fewer paths are allowed.

    The search runs in the inputs' precision with the additions ``tagger.numpy_tagger.viterbi``
    makes, in its order, ties going to the lowest tag: with an engine's float32 scores the first
    path is exactly its Viterbi path, even where two paths tie to float32 rounding. Scores and
    probabilities are then computed in float64 (order is by the search's scores, so two paths
    within rounding of each other may show float64 scores a rounding error out of order).

    Args:
        emissions: Shape (length, num_tags).
        scores: The CRF's constrained scores; None for a softmax model (the search is then in float64).
        k: How many paths, 1 to ``MAX_NBEST``.
        lattice: ``Lattice(emissions, scores)`` when already computed (for ``log_z``).

    Returns:
        Up to k paths in decreasing order of score; one empty path (probability 1) for an empty sentence.
    """
    if not 1 <= k <= MAX_NBEST:
        raise ValueError(f"k must be between 1 and {MAX_NBEST}, got {k}")
    emissions = _checked(emissions)
    lattice = lattice or Lattice(emissions, scores)
    length, num_tags = emissions.shape
    if not length:
        return [Path((), 0.0, 1.0)]
    dtype = np.result_type(emissions.dtype, *(np.asarray(s).dtype for s in scores)) if scores is not None else np.dtype(np.float64)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    start, transitions, end = _search_scores(emissions, scores, dtype)
    emissions = emissions.astype(dtype)
    # best[j, r]: score of the r-th best prefix ending in tag j; -inf where there are fewer than r + 1.
    best = np.full((num_tags, k), -np.inf, dtype=dtype)
    best[:, 0] = start + emissions[0]
    # back[t, j, r]: the prefix that rank r of tag j at t extends, as i * k + r' at t - 1.
    back = np.zeros((length, num_tags, k), dtype=np.int32)
    for t in range(1, length):
        candidates = (best[:, :, None] + transitions[:, None, :]).reshape(num_tags * k, num_tags)  # shape: (T * k, T)
        order = np.argsort(-candidates, axis=0, kind="stable")[:k]  # shape: (k, T), ties to the lowest i, then r'
        back[t] = order.T
        best = np.take_along_axis(candidates, order, axis=0).T + emissions[t][:, None]  # shape: (T, k)
    final = (best + end[:, None]).reshape(-1)  # shape: (T * k,)
    paths = []
    for flat in np.argsort(-final, kind="stable")[:k]:
        if not np.isfinite(final[flat]):
            break
        tag, rank = divmod(int(flat), k)
        ids = [0] * length
        for t in range(length - 1, -1, -1):
            ids[t] = tag
            tag, rank = divmod(int(back[t, tag, rank]), k)
        score = lattice.path_score(ids)
        paths.append(Path(tuple(ids), score, float(np.exp(score - lattice.log_z))))
    return paths


# ----------------------------------------------------------------------------- output labels


class OutputMap:
    """Turns training-scheme marginals into probabilities of the labels a tagger writes.

    A tagger converts its path to the corpus's scheme (``convert_tags``: through the spans, as
    ``spans_from_tags`` reads them). The output tag at t depends on three things only: the tag at
    t, how it relates to the tag before (continues its entity; starts a new one right after an
    entity of the same type, which IOB1 marks with B; starts one otherwise) and whether the tag
    after continues it. So ``P(output_t = o)`` is a sum over (tag at t, left relation, right
    relation) of ``P(y_t = j, left) * P(y_t = j, right) / P(y_t = j)`` (the neighbours of t are
    independent given y_t in a linear chain), computed from the pair marginals: exact for any
    path, in O(length * T^2). On paths valid in the scheme this is the sum of the training
    columns that map to the label (IOBES ``B-PER`` and ``S-PER`` both give IOB2 ``B-PER``).

    A tag the conversion can write but which is not among ``output_labels`` (a corpus whose
    label list lacks a tag the training scheme completed, such as an I- tag never seen) has no
    column: rows then sum to 1 minus its probability.

    Args:
        labels: The training scheme's labels (``label_vocab`` order).
        scheme: The training scheme.
        output_labels: The labels to give probabilities for, in their order.
        output_scheme: Their scheme.
    """

    def __init__(self, labels: Sequence[str], scheme: str, output_labels: Sequence[str], output_scheme: str):
        self.scheme, self.output_scheme = normalize_scheme(scheme), normalize_scheme(output_scheme)
        index = {label: i for i, label in enumerate(output_labels)}
        self.num_outputs = len(output_labels)
        num_tags = len(labels)
        if self.scheme == "plain":
            self.columns = np.zeros((num_tags, self.num_outputs + 1))  # the last column: labels without one
            for j, label in enumerate(labels):
                self.columns[j, index.get(label, self.num_outputs)] = 1.0
            return
        joins = _joins(tuple(labels), self.scheme)
        kinds = [None if label == "O" else spans_from_tags([label], self.scheme)[0].label for label in labels]
        same = np.array([[a is not None and a == b for b in kinds] for a in kinds])
        # left[i, j] in {0: continues, 1: starts, 2: starts right after an entity of its type}; row T: no token before.
        left = np.where(joins, 0, np.where(same, 2, 1))
        self.left = np.eye(3)[np.vstack([left, np.ones((1, num_tags), dtype=int)])]  # shape: (T + 1, T, 3)
        right = np.hstack([np.where(joins, 0, 1), np.ones((num_tags, 1), dtype=int)])  # column T: no token after
        self.right = np.eye(2)[right]  # shape: (T, T + 1, 2)
        # out[j, a, b]: the output label of tag j with left relation a and right relation b.
        self.out = np.zeros((num_tags, 3, 2, self.num_outputs + 1))  # the last column: labels without one
        for j, kind in enumerate(kinds):
            for a in range(3):
                for b in range(2):
                    label = "O" if kind is None else self._written(kind, a, b)
                    self.out[j, a, b, index.get(label, self.num_outputs)] = 1.0

    def _written(self, kind: str, left: int, right: int) -> str:
        """The output tag of the middle token of a three-token window with these relations."""
        first = 0 if left == 0 else 1
        spans = [Span(kind, 0, 1)] if left == 2 else []
        spans.append(Span(kind, first, 2 if right == 1 else 3))
        return tags_from_spans(spans, 3, self.output_scheme)[1]

    def probabilities(self, lattice: Lattice) -> np.ndarray:
        """``P(output tag at t = o)``, shape (length, len(output_labels)); rows sum to 1 (see above)."""
        marginal = lattice.marginals()  # shape: (L, T)
        if self.scheme == "plain":
            result: np.ndarray = (marginal @ self.columns)[:, : self.num_outputs]
            return result
        length, num_tags = marginal.shape
        if not length:
            return np.zeros((0, self.num_outputs))
        pairs = lattice.pair_marginals()  # shape: (L - 1, T, T)
        # before[t, i, j] = P(y_(t-1) = i, y_t = j), row T for "no token": P(y_0 = j) at t = 0.
        before = np.zeros((length, num_tags + 1, num_tags))
        before[1:, :num_tags] = pairs
        before[0, num_tags] = marginal[0]
        after = np.zeros((length, num_tags, num_tags + 1))
        after[:-1, :, :num_tags] = pairs
        after[-1, :, num_tags] = marginal[-1]
        left = np.einsum("tij,ija->tja", before, self.left)  # P(y_t = j, left relation a)
        right = np.einsum("tjk,jkb->tjb", after, self.right)  # P(y_t = j, right relation b)
        with np.errstate(divide="ignore", invalid="ignore"):
            joint = np.where(marginal[:, :, None, None] > 0, left[:, :, :, None] * right[:, :, None, :] / marginal[:, :, None, None], 0.0)
        result = np.einsum("tjab,jabo->to", joint, self.out)[:, : self.num_outputs]
        return result
