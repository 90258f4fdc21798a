"""tagger.confidence against brute force: every tag path of small random CRFs, scored one by one.

Marginals, span probabilities, the k best paths (order, scores, probabilities) and the output-label
probabilities are each compared with sums over ``itertools.product`` of all paths, with and
without the constraints of ``tagger.schemes.allowed_transitions``, and for softmax models (no
transition scores: independent tokens).
"""

from __future__ import annotations

import itertools
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.confidence import MAX_NBEST, Lattice, OutputMap, lattices, marginals, nbest, span_probabilities
from tagger.numpy_tagger import FORBIDDEN_SCORE, viterbi
from tagger.schemes import allowed_transitions, convert_tags, spans_from_tags

IOBES = ["O", "B-A", "I-A", "E-A", "S-A"]
IOB2_TWO = ["O", "B-A", "I-A", "B-B", "I-B"]
IOB2 = ["O", "B-A", "I-A"]
BILOU = ["O", "B-A", "I-A", "L-A", "U-A"]
IOB1_TWO = ["O", "I-A", "B-A", "I-B", "B-B"]
# (labels, their scheme, constrained): every label set is also tried without constraints.
CASES = [
    (IOBES, "IOBES", True),
    (IOBES, "IOBES", False),
    (IOB2, "IOB2", True),
    (IOB2_TWO, "IOB2", True),
    (IOB2_TWO, "IOB2", False),
    (BILOU, "BILOU", True),
    (IOB1_TWO, "IOB1", True),
    (["O", "B-A", "I-A", "B-B"], "IOB2", False),  # 4 tags
]


def random_crf(rng: np.random.Generator, labels: Sequence[str], scheme: str, constrained: bool, length: int):
    """Emissions (length, T) and (start, transitions, end) with forbidden moves at FORBIDDEN_SCORE."""
    num_tags = len(labels)
    emissions = rng.normal(scale=2.0, size=(length, num_tags))
    start, transitions, end = rng.normal(size=num_tags), rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags)
    if constrained:
        allowed_start, allowed, allowed_end = (np.array(a) for a in allowed_transitions(labels, scheme))
        start = np.where(allowed_start, start, FORBIDDEN_SCORE)
        transitions = np.where(allowed, transitions, FORBIDDEN_SCORE)
        end = np.where(allowed_end, end, FORBIDDEN_SCORE)
    return emissions, (start, transitions, end)


class Brute:
    """Every allowed path of a sentence with its score and probability."""

    def __init__(self, emissions: np.ndarray, scores: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]):
        length, num_tags = emissions.shape
        if scores is None:
            scores = (np.zeros(num_tags), np.zeros((num_tags, num_tags)), np.zeros(num_tags))
        start, transitions, end = scores
        self.paths: List[Tuple[int, ...]] = []
        self.scores: List[float] = []
        for path in itertools.product(range(num_tags), repeat=length):
            moves = [start[path[0]], end[path[-1]]] + [transitions[a, b] for a, b in zip(path, path[1:])]
            if min(moves) <= -5000:
                continue  # a forbidden move
            self.paths.append(path)
            self.scores.append(sum(moves) + sum(emissions[t, y] for t, y in enumerate(path)))
        scores_array = np.array(self.scores)
        self.log_z = float(np.log(np.exp(scores_array - scores_array.max()).sum()) + scores_array.max())
        self.probs = np.exp(scores_array - self.log_z)

    def probability(self, event) -> float:
        return float(sum(p for path, p in zip(self.paths, self.probs) if event(path)))

    def best(self) -> Tuple[int, ...]:
        return self.paths[int(np.argmax(self.scores))]


def entity_event(span, path: Optional[Sequence[int]], labels: Sequence[str], scheme: str):
    """Whether another path has ``span`` among its entities (and, with ``path``, the same tags over it)."""

    def event(other: Sequence[int]) -> bool:
        if path is not None and tuple(other[span.start : span.end]) != tuple(path[span.start : span.end]):
            return False
        return span in spans_from_tags([labels[i] for i in other], scheme)

    return event


def sentences(seed: int, lengths=range(1, 6)):
    rng = np.random.default_rng(seed)
    for labels, scheme, constrained in CASES:
        for length in lengths:
            emissions, scores = random_crf(rng, labels, scheme, constrained, length)
            yield labels, scheme, constrained, emissions, scores


@pytest.mark.parametrize("softmax", [False, True])
def test_marginals_are_the_brute_force_posteriors(softmax: bool) -> None:
    for _, _, _, emissions, scores in sentences(0):
        scores = None if softmax else scores
        brute = Brute(emissions, scores)
        expected = np.zeros(emissions.shape)
        for path, p in zip(brute.paths, brute.probs):
            expected[np.arange(len(path)), path] += p
        got = marginals(emissions, scores)
        np.testing.assert_allclose(got, expected, atol=1e-12)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
        assert np.isclose(Lattice(emissions, scores).log_z, brute.log_z, atol=1e-10)
        if softmax:
            softmax_rows = np.exp(emissions) / np.exp(emissions).sum(axis=1, keepdims=True)
            np.testing.assert_allclose(got, softmax_rows, atol=1e-12)


def test_forbidden_moves_have_probability_zero_and_pairs_sum_to_the_marginals() -> None:
    for labels, scheme, constrained, emissions, scores in sentences(1, lengths=(2, 4)):
        lattice = Lattice(emissions, scores)
        pairs = lattice.pair_marginals()
        np.testing.assert_allclose(pairs.sum(axis=2), lattice.marginals()[:-1], atol=1e-12)
        np.testing.assert_allclose(pairs.sum(axis=1), lattice.marginals()[1:], atol=1e-12)
        if constrained:
            forbidden = ~np.array(allowed_transitions(labels, scheme)[1])
            assert (pairs[:, forbidden] == 0.0).all()
            assert (lattice.marginals()[0][~np.array(allowed_transitions(labels, scheme)[0])] == 0.0).all()


@pytest.mark.parametrize("softmax", [False, True])
def test_span_probabilities_are_the_probability_that_the_entity_is_there(softmax: bool) -> None:
    checked = 0
    for labels, scheme, _, emissions, scores in sentences(2):
        scores = None if softmax else scores
        brute = Brute(emissions, scores)
        for path in brute.paths[:: max(1, len(brute.paths) // 7)] + [brute.best()]:
            got = span_probabilities(emissions, scores, path, labels, scheme)
            spans = spans_from_tags([labels[i] for i in path], scheme)
            assert list(got) == spans
            for span, probability in got.items():
                event = entity_event(span, path, labels, scheme)
                assert probability == pytest.approx(brute.probability(event), abs=1e-12)
                checked += 1
    assert checked > 200


def test_under_the_constraints_a_span_probability_is_that_of_the_entity_alone() -> None:
    """With the constraints of IOB2, IOBES or BILOU an entity has one tag sequence: the tags need not be
    asked for. (Not in IOB1, where its first tag depends on the entity before it.)"""
    for labels, scheme, constrained, emissions, scores in sentences(3):
        if not constrained or scheme == "IOB1":
            continue
        brute = Brute(emissions, scores)
        best = brute.best()
        for span, probability in span_probabilities(emissions, scores, best, labels, scheme).items():
            entity = brute.probability(entity_event(span, None, labels, scheme))
            assert probability == pytest.approx(entity, abs=1e-12)


def test_softmax_span_probability_is_the_product_of_its_tokens_and_closed_neighbours() -> None:
    rng = np.random.default_rng(4)
    emissions = rng.normal(size=(4, 3))
    p = np.exp(emissions) / np.exp(emissions).sum(axis=1, keepdims=True)
    # O B-A I-A O: PER over tokens 1-2, not continued by an I-A at token 3 (an I-A before B-A does not join).
    (probability,) = span_probabilities(emissions, None, (0, 1, 2, 0), IOB2, "IOB2").values()
    assert probability == pytest.approx(p[1, 1] * p[2, 2] * (1 - p[3, 2]), abs=1e-14)


@pytest.mark.parametrize("softmax", [False, True])
def test_nbest_are_the_k_best_of_all_paths_in_order(softmax: bool) -> None:
    for _, _, _, emissions, scores in sentences(5):
        scores = None if softmax else scores
        brute = Brute(emissions, scores)
        order = np.argsort(-np.array(brute.scores), kind="stable")
        for k in (1, 2, 3, 7, 50):
            got = nbest(emissions, scores, k)
            assert len(got) == min(k, len(brute.paths))  # fewer when fewer paths are allowed
            assert [path.ids for path in got] == [brute.paths[i] for i in order[:k]]
            np.testing.assert_allclose([path.score for path in got], [brute.scores[i] for i in order[:k]], atol=1e-10)
            np.testing.assert_allclose([path.probability for path in got], [brute.probs[i] for i in order[:k]], atol=1e-12)
            assert all(a.score >= b.score for a, b in zip(got, got[1:]))


def test_nbest_never_returns_a_forbidden_path() -> None:
    rng = np.random.default_rng(6)
    emissions, scores = random_crf(rng, IOBES, "IOBES", True, 1)
    emissions[0, 2] = 1000.0  # I-A cannot start a sentence, however high its emission
    assert [path.ids for path in nbest(emissions, scores, 10)] == sorted([(0,), (4,)], key=lambda p: -emissions[0, p[0]])


def test_the_first_path_is_numpy_viterbi_even_in_a_float32_tie() -> None:
    rng = np.random.default_rng(7)
    for _, _, _, emissions, scores in sentences(8):
        emissions32 = emissions.astype(np.float32)
        scores32 = tuple(s.astype(np.float32) for s in scores)
        expected = viterbi(emissions32[:, None, :], np.array([len(emissions32)]), *scores32)[0].tolist()
        assert list(nbest(emissions32, scores32, 3)[0].ids) == expected
    # Two paths whose float32 scores tie exactly: Viterbi keeps the lower tag, and so does nbest.
    emissions = np.full((3, 2), rng.normal(), dtype=np.float32)
    flat = tuple(np.zeros(shape, dtype=np.float32) for shape in ((2,), (2, 2), (2,)))
    expected = viterbi(emissions[:, None, :], np.array([3]), *flat)[0].tolist()
    tied = nbest(emissions, flat, 8)
    assert list(tied[0].ids) == expected == [0, 0, 0] and len({path.score for path in tied}) == 1


def test_empty_sentences_and_bad_arguments() -> None:
    empty = np.zeros((0, 3))
    assert marginals(empty).shape == (0, 3)
    assert nbest(empty, None, 4) == [((), 0.0, 1.0)]
    assert span_probabilities(empty, None, (), IOB2, "IOB2") == {}
    with pytest.raises(ValueError, match="k must be between 1 and"):
        nbest(np.zeros((2, 3)), None, 0)
    with pytest.raises(ValueError, match="k must be between 1 and"):
        nbest(np.zeros((2, 3)), None, MAX_NBEST + 1)
    with pytest.raises(ValueError, match="finite"):
        marginals(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="shapes"):
        marginals(np.zeros((2, 3)), (np.zeros(3), np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(ValueError, match="no tag path"):
        marginals(np.zeros((1, 2)), (np.full(2, FORBIDDEN_SCORE), np.zeros((2, 2)), np.zeros(2)))


def test_extreme_scores_neither_overflow_nor_underflow() -> None:
    rng = np.random.default_rng(9)
    emissions, scores = random_crf(rng, IOBES, "IOBES", True, 200)
    probs = marginals(emissions * 300, scores)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1.0)
    (best,) = nbest(emissions * 300, scores, 1)
    assert 0.0 < best.probability <= 1.0


# ----------------------------------------------------------------------------- output labels

OUTPUT_CASES = [
    (IOBES, "IOBES", "IOB2"),
    (IOBES, "IOBES", "IOB1"),
    (IOBES, "IOBES", "IOBES"),
    (IOBES, "IOBES", "BILOU"),
    (IOB2_TWO, "IOB2", "IOBES"),
    (IOB2_TWO, "IOB2", "IOB2"),
    (IOB2_TWO, "IOB2", "IOB1"),
    (IOB1_TWO, "IOB1", "IOB2"),
]


def output_labels(labels: Sequence[str], source: str, target: str) -> List[str]:
    from tagger.schemes import convert_labels

    return convert_labels(labels, source, target)


@pytest.mark.parametrize("labels, source, target", OUTPUT_CASES)
@pytest.mark.parametrize("constrained", [True, False, None], ids=["crf", "unconstrained", "softmax"])
def test_output_probabilities_are_those_of_the_converted_paths(labels, source: str, target: str, constrained) -> None:
    targets = output_labels(labels, source, target)
    mapping = OutputMap(labels, source, targets, target)
    rng = np.random.default_rng(10)
    for length in range(1, 6):
        emissions, scores = random_crf(rng, labels, source, bool(constrained), length)
        scores = None if constrained is None else scores
        brute = Brute(emissions, scores)
        expected = np.zeros((length, len(targets)))
        for path, p in zip(brute.paths, brute.probs):
            converted = convert_tags([labels[i] for i in path], source, target)
            expected[np.arange(length), [targets.index(tag) for tag in converted]] += p
        got = mapping.probabilities(Lattice(emissions, scores))
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_on_valid_paths_output_probabilities_sum_the_columns_that_map_together() -> None:
    rng = np.random.default_rng(11)
    emissions, scores = random_crf(rng, IOBES, "IOBES", True, 5)
    marginal = marginals(emissions, scores)
    got = OutputMap(IOBES, "IOBES", ["O", "B-A", "I-A"], "IOB2").probabilities(Lattice(emissions, scores))
    np.testing.assert_allclose(got, np.stack([marginal[:, 0], marginal[:, 1] + marginal[:, 4], marginal[:, 2] + marginal[:, 3]], 1))


def test_plain_labels_map_by_name() -> None:
    emissions = np.random.default_rng(12).normal(size=(3, 3))
    got = OutputMap(["NOUN", "VERB", "DET"], "plain", ["DET", "NOUN", "VERB", "X"], "plain").probabilities(Lattice(emissions))
    np.testing.assert_allclose(got[:, :3], marginals(emissions)[:, [2, 0, 1]])
    assert (got[:, 3] == 0).all()
    # A label without a column: its probability is not reported.
    np.testing.assert_allclose(
        OutputMap(["NOUN", "VERB", "DET"], "plain", ["NOUN"], "plain").probabilities(Lattice(emissions)), got[:, [1]]
    )


def test_a_written_tag_without_a_column_is_left_out() -> None:
    emissions, scores = random_crf(np.random.default_rng(13), IOBES, "IOBES", True, 4)
    full = OutputMap(IOBES, "IOBES", ["O", "B-A", "I-A"], "IOB2").probabilities(Lattice(emissions, scores))
    got = OutputMap(IOBES, "IOBES", ["B-A", "O"], "IOB2").probabilities(Lattice(emissions, scores))
    np.testing.assert_allclose(got, full[:, [1, 0]])


# ----------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    case=st.sampled_from(CASES),
    length=st.integers(1, 4),
    k=st.integers(1, 12),
    softmax=st.booleans(),
)
def test_property_nbest_and_span_scores_match_brute_force(seed: int, case, length: int, k: int, softmax: bool) -> None:
    labels, scheme, constrained = case
    emissions, scores = random_crf(np.random.default_rng(seed), labels, scheme, constrained, length)
    scores = None if softmax else scores
    brute = Brute(emissions, scores)
    order = np.argsort(-np.array(brute.scores), kind="stable")[:k]
    got = nbest(emissions, scores, k)
    assert [path.ids for path in got] == [brute.paths[i] for i in order]
    for probability in span_probabilities(emissions, scores, got[0].ids, labels, scheme).values():
        # The best path is one of the paths that have this entity.
        assert got[0].probability - 1e-12 <= probability <= 1.0 + 1e-12


# ----------------------------------------------------------------------------- batched lattices


def _assert_same_lattice(got: Lattice, want: Lattice) -> None:
    np.testing.assert_allclose(got.log_z, want.log_z, rtol=1e-10, atol=1e-9)
    for mine, theirs in ((got.log_alpha, want.log_alpha), (got.log_beta, want.log_beta)):
        assert (np.isneginf(mine) == np.isneginf(theirs)).all()  # forbidden exactly where log space says
        finite = np.isfinite(theirs)
        np.testing.assert_allclose(mine[finite], theirs[finite], rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("softmax", [False, True])
@pytest.mark.parametrize("scale", [1.0, 300.0], ids=["ordinary", "extreme"])
def test_batched_lattices_are_each_sentences_own(softmax: bool, scale: float) -> None:
    """``lattices`` (rescaled probability space, log space where that would underflow) equals
    ``Lattice`` sentence by sentence, for mixed lengths in one block and across blocks."""
    rng = np.random.default_rng(11)
    for labels, scheme, constrained in CASES:
        crfs = [random_crf(rng, labels, scheme, constrained, length) for length in rng.integers(0, 40, size=9)]
        scores = None if softmax else crfs[0][1]
        emissions = [e * scale for e, _ in crfs]
        for block in (256, 4):
            for got, e in zip(lattices(emissions, scores, block=block), emissions):
                _assert_same_lattice(got, Lattice(e, scores))


def test_batched_lattices_fall_back_to_log_space_where_probabilities_would_underflow() -> None:
    """A tag that stays possible but ~1000 nats behind: the rescaled pass would flush it to 0."""
    labels = IOB2
    emissions = np.zeros((30, 3))
    emissions[:, 2] = -1000.0  # I-A: allowed after B-A, and 1000 nats worse at every token
    start, transitions, end = (np.array(a, dtype=float) for a in allowed_transitions(labels, "IOB2"))
    scores = tuple(np.where(a > 0, 0.0, FORBIDDEN_SCORE) for a in (start, transitions, end))
    (got,) = lattices([emissions], scores)
    want = Lattice(emissions, scores)
    _assert_same_lattice(got, want)
    assert np.isfinite(got.log_alpha[1:, 2]).all()  # far below the others, but not flushed to -inf


def test_a_sentences_lattice_does_not_depend_on_the_others_in_its_block() -> None:
    """Bit for bit: tagging a sentence alone or among others writes the same span scores."""
    rng = np.random.default_rng(5)
    emissions, scores = random_crf(rng, IOBES, "IOBES", True, 12)
    others = [random_crf(rng, IOBES, "IOBES", True, n)[0] for n in (3, 12, 30, 7, 12)]
    (alone,) = lattices([emissions], scores)
    among = lattices([*others[:2], emissions, *others[2:]], scores)[2]
    assert alone.log_z == among.log_z
    assert (alone.log_alpha == among.log_alpha).all() and (alone.log_beta == among.log_beta).all()
