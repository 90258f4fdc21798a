"""Tests for tagger.crf: the CRF checked against brute-force enumeration of every tag path."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch

from tagger.crf import CRF, FORBIDDEN_SCORE

NUM_TAGS = 5
LENGTHS = [4, 3, 1, 2]  # varied lengths in one batch, including length 1
SEQ_LEN = max(LENGTHS)

# BIOES over one entity type: O, B-X, I-X, E-X, S-X. Restricts starts, pairs and ends.
TAG_O, TAG_B, TAG_I, TAG_E, TAG_S = range(5)
BIOES_START = [True, True, False, False, True]
BIOES_END = [True, False, False, True, True]
BIOES_ALLOWED = [
    [j in (TAG_O, TAG_B, TAG_S) for j in range(5)],  # after O
    [j in (TAG_I, TAG_E) for j in range(5)],  # after B
    [j in (TAG_I, TAG_E) for j in range(5)],  # after I
    [j in (TAG_O, TAG_B, TAG_S) for j in range(5)],  # after E
    [j in (TAG_O, TAG_B, TAG_S) for j in range(5)],  # after S
]
BIOES = (BIOES_START, BIOES_ALLOWED, BIOES_END)
LEGAL_PATHS = [[TAG_O, TAG_B, TAG_E, TAG_S], [TAG_S, TAG_O, TAG_O], [TAG_O], [TAG_B, TAG_E]]  # one per LENGTHS


def legal_tags(padding: int) -> torch.Tensor:
    """LEGAL_PATHS as a (batch, seq_len) tensor with ``padding`` after each sentence."""
    return torch.tensor([path + [padding] * (SEQ_LEN - len(path)) for path in LEGAL_PATHS])


def make_crf(constrained: bool, seed: int = 0) -> CRF:
    """A CRF with scores large enough (std 1) that wrong answers differ clearly from right ones."""
    torch.manual_seed(seed)
    crf = CRF(NUM_TAGS, BIOES if constrained else None)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_(0.0, 1.0)
    return crf


def make_batch(
    lengths: list[int] = LENGTHS, seed: int = 1, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random emissions, tags (-100 at padding) and a left-aligned mask for the given lengths."""
    generator = torch.Generator().manual_seed(seed)
    seq_len = max(lengths)
    emissions = torch.randn(len(lengths), seq_len, NUM_TAGS, generator=generator, dtype=dtype) * 2
    mask = torch.arange(seq_len)[None, :] < torch.tensor(lengths)[:, None]
    tags = torch.randint(NUM_TAGS, (len(lengths), seq_len), generator=generator)
    tags = tags.masked_fill(~mask, -100)
    return emissions, tags, mask


def is_allowed(path: tuple[int, ...], constraints: tuple | None) -> bool:
    """Whether a path respects the start, transition and end constraints."""
    if constraints is None:
        return True
    allowed_start, allowed, allowed_end = constraints
    pairs_ok = all(allowed[a][b] for a, b in zip(path, path[1:]))
    return allowed_start[path[0]] and pairs_ok and allowed_end[path[-1]]


def path_score(crf: CRF, emissions: list[list[float]], path: tuple[int, ...]) -> float:
    """Score of one path from the raw (unconstrained) parameters, in plain Python floats."""
    start = crf.start_transitions.tolist()
    end = crf.end_transitions.tolist()
    transitions = crf.transitions.tolist()
    total = start[path[0]] + end[path[-1]]
    total += sum(emissions[t][tag] for t, tag in enumerate(path))
    total += sum(transitions[a][b] for a, b in zip(path, path[1:]))
    return total


def brute_force(crf: CRF, emissions: torch.Tensor, length: int, constraints: tuple | None) -> dict:
    """Every allowed path of one sentence with its score."""
    rows = emissions[:length].tolist()
    return {
        path: path_score(crf, rows, path) for path in itertools.product(range(NUM_TAGS), repeat=length) if is_allowed(path, constraints)
    }


def logsumexp(values: list[float]) -> float:
    """log(sum(exp(values))) in plain Python."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def check_no_forbidden(path: list[int]) -> None:
    """Assert a decoded path is legal BIOES."""
    assert BIOES_START[path[0]], path
    assert BIOES_END[path[-1]], path
    for a, b in zip(path, path[1:]):
        assert BIOES_ALLOWED[a][b], path


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_log_partition_matches_brute_force(constrained: bool) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, _, mask = make_batch()
    log_z = crf.log_partition(emissions, mask)
    assert log_z.shape == (len(LENGTHS),) and log_z.dtype == torch.float64
    for i, length in enumerate(LENGTHS):
        expected = logsumexp(list(brute_force(crf, emissions[i], length, constraints).values()))
        assert log_z[i].item() == pytest.approx(expected, abs=1e-9)


def test_log_partition_without_padding_matches_brute_force() -> None:
    crf = make_crf(False)
    emissions, _, mask = make_batch([3, 3, 3])
    assert mask.all()
    log_z = crf.log_partition(emissions, mask)
    for i in range(3):
        expected = logsumexp(list(brute_force(crf, emissions[i], 3, None).values()))
        assert log_z[i].item() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_nll_is_log_partition_minus_gold_score(constrained: bool) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, tags, mask = make_batch()
    if constrained:
        # Gold paths must be legal for the brute-force sum to include them.
        tags = legal_tags(padding=-100)
    expected = []
    for i, length in enumerate(LENGTHS):
        paths = brute_force(crf, emissions[i], length, constraints)
        gold = tuple(tags[i, :length].tolist())
        assert crf.score(emissions[i : i + 1], tags[i : i + 1], mask[i : i + 1]).item() == pytest.approx(paths[gold], abs=1e-9)
        expected.append(logsumexp(list(paths.values())) - paths[gold])

    losses = crf.nll(emissions, tags, mask, reduction="none")
    assert losses.shape == (len(LENGTHS),)
    assert losses.tolist() == pytest.approx(expected, abs=1e-9)
    assert all(loss > 0 for loss in losses.tolist())  # a loss, not a likelihood
    assert crf.nll(emissions, tags, mask, reduction="sum").item() == pytest.approx(sum(expected), abs=1e-9)
    assert crf.nll(emissions, tags, mask).item() == pytest.approx(sum(expected) / len(LENGTHS), abs=1e-9)
    assert crf.nll(emissions, tags, mask, reduction="token_mean").item() == pytest.approx(sum(expected) / sum(LENGTHS), abs=1e-9)


def test_score_of_forbidden_path_includes_penalty() -> None:
    crf = make_crf(True)
    emissions, _, mask = make_batch([2])
    tags = torch.tensor([[TAG_O, TAG_I]])  # O -> I is forbidden, and I may not end a sentence
    expected = path_score(crf, emissions[0].tolist(), (TAG_O, TAG_I))
    expected += 2 * FORBIDDEN_SCORE - crf.transitions[TAG_O, TAG_I].item() - crf.end_transitions[TAG_I].item()
    assert crf.score(emissions, tags, mask).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_viterbi_matches_brute_force_argmax(constrained: bool) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, _, mask = make_batch()
    best_tags, best_scores = crf.viterbi_tensor(emissions, mask)
    assert best_tags.shape == mask.shape and best_tags.dtype == torch.long
    assert best_tags[~mask].eq(0).all()
    decoded = crf.viterbi(emissions, mask)
    assert [len(path) for path in decoded] == LENGTHS
    for i, length in enumerate(LENGTHS):
        paths = brute_force(crf, emissions[i], length, constraints)
        best_path = max(paths, key=paths.get)
        assert decoded[i] == list(best_path)
        assert best_tags[i, :length].tolist() == list(best_path)
        assert best_scores[i].item() == pytest.approx(paths[best_path], abs=1e-9)
        if constrained:
            check_no_forbidden(decoded[i])


def test_constrained_viterbi_never_emits_forbidden_moves() -> None:
    crf = make_crf(True)
    # Emissions that strongly prefer forbidden moves: I everywhere, or I at the start and B at the end.
    lengths = [1, 2, 5, 8, 8, 3]
    emissions, _, mask = make_batch(lengths, seed=3, dtype=torch.float32)
    emissions = emissions * 5
    emissions[0, :, TAG_I] += 50
    emissions[1, 0, TAG_I] += 50
    emissions[1, 1, TAG_B] += 50
    emissions[2, :, TAG_I] += 50
    free = make_crf(False)
    assert any(not is_allowed(tuple(p), BIOES) for p in free.viterbi(emissions, mask))  # the test can fail
    for path in crf.viterbi(emissions, mask):
        check_no_forbidden(path)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_marginals_match_brute_force(constrained: bool) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, _, mask = make_batch()
    marginals = crf.marginals(emissions, mask)
    assert marginals.shape == emissions.shape
    assert marginals[~mask].eq(0).all()
    sums = marginals.sum(dim=2)[mask]
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-9)
    for i, length in enumerate(LENGTHS):
        paths = brute_force(crf, emissions[i], length, constraints)
        log_z = logsumexp(list(paths.values()))
        expected = [[0.0] * NUM_TAGS for _ in range(length)]
        for path, score in paths.items():
            for t, tag in enumerate(path):
                expected[t][tag] += math.exp(score - log_z)
        assert torch.allclose(marginals[i, :length], torch.tensor(expected, dtype=torch.float64), atol=1e-9)


def test_backward_gives_finite_gradients_and_none_through_padding() -> None:
    crf = make_crf(True)
    emissions, tags, mask = make_batch(dtype=torch.float32)
    tags = legal_tags(padding=-100)
    emissions.requires_grad_(True)
    loss = crf.nll(emissions, tags, mask)
    loss.backward()
    for name, parameter in crf.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    # Forbidden moves are constants, so their raw parameters get no gradient.
    forbidden = ~crf.allowed_transitions
    assert crf.transitions.grad[forbidden].eq(0).all()
    assert crf.transitions.grad[~forbidden].ne(0).any()
    assert crf.start_transitions.grad[~crf.allowed_start].eq(0).all()
    assert emissions.grad[~mask].eq(0).all()
    assert emissions.grad[mask].ne(0).any()


def test_batch_equals_one_sentence_at_a_time() -> None:
    crf = make_crf(True)
    lengths = [6, 1, 4, 2, 6, 3]
    emissions, tags, mask = make_batch(lengths, seed=5, dtype=torch.float32)
    emissions = emissions.masked_fill(~mask.unsqueeze(2), 1e4)  # garbage at padding must not leak
    # Legal gold tags (all O); padding holds I, which would add forbidden-move penalties if it leaked.
    tags = torch.where(mask, torch.tensor(TAG_O), torch.tensor(TAG_I))
    losses = crf.nll(emissions, tags, mask, reduction="none")
    decoded = crf.viterbi(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    for i, length in enumerate(lengths):
        one = emissions[i : i + 1, :length]
        one_mask = torch.ones(1, length, dtype=torch.bool)
        one_tags = tags[i : i + 1, :length]
        assert losses[i].item() == pytest.approx(crf.nll(one, one_tags, one_mask, "none").item(), rel=1e-5)
        assert decoded[i] == crf.viterbi(one, one_mask)[0]
        assert torch.allclose(marginals[i, :length], crf.marginals(one, one_mask)[0], atol=1e-5)


def test_seq_len_one_batch() -> None:
    crf = make_crf(False)
    emissions, tags, mask = make_batch([1, 1, 1])
    expected = (crf.start_transitions + crf.end_transitions).double() + emissions[:, 0]  # (batch, num_tags)
    assert torch.allclose(crf.log_partition(emissions, mask), torch.logsumexp(expected, dim=1))
    assert crf.viterbi(emissions, mask) == [[t] for t in expected.argmax(dim=1).tolist()]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_are_computed_in_float32(dtype: torch.dtype) -> None:
    crf = make_crf(True)
    emissions, tags, mask = make_batch(dtype=torch.float32)
    tags = legal_tags(padding=0)
    low = emissions.to(dtype)
    loss = crf.nll(low, tags, mask, reduction="none")
    assert loss.dtype == torch.float32
    assert torch.allclose(loss, crf.nll(low.float(), tags, mask, reduction="none"))
    assert crf.viterbi(low, mask) == crf.viterbi(low.float(), mask)
    assert crf.marginals(low, mask).dtype == torch.float32
    half_crf = make_crf(True).to(dtype)  # a half-precision module is upcast too
    assert half_crf.nll(low, tags, mask).dtype == torch.float32


def test_autocast_cpu_bfloat16_gives_finite_loss_and_gradients() -> None:
    crf = make_crf(True)
    projection = torch.nn.Linear(8, NUM_TAGS)
    features = torch.randn(len(LENGTHS), SEQ_LEN, 8)
    _, _, mask = make_batch()
    tags = legal_tags(padding=0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        emissions = projection(features)
        assert emissions.dtype == torch.bfloat16
        loss = crf.nll(emissions, tags, mask)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in [*crf.parameters(), *projection.parameters()])


def test_autocast_leaves_the_forward_algorithm_in_float32() -> None:
    torch.manual_seed(0)
    crf = CRF(NUM_TAGS)
    with torch.no_grad():
        crf.transitions.normal_()
    emissions = torch.randn(8, 30, NUM_TAGS) * 3
    mask = torch.ones(8, 30, dtype=torch.bool)
    tags = torch.randint(0, NUM_TAGS, (8, 30))
    expected = crf.nll(emissions, tags, mask, reduction="none")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = crf.nll(emissions, tags, mask, reduction="none")
    assert torch.allclose(under_autocast, expected, rtol=1e-6, atol=1e-5)


def test_constraints_are_saved_and_loaded_with_the_state_dict(tmp_path) -> None:
    import safetensors.torch as safetensors_torch

    crf = make_crf(True)
    state = crf.state_dict()
    assert {"allowed_start", "allowed_transitions", "allowed_end"} <= set(state)
    assert state["allowed_transitions"].dtype == torch.bool
    assert state["allowed_transitions"].tolist() == BIOES_ALLOWED
    path = tmp_path / "crf.safetensors"
    safetensors_torch.save_file(state, str(path))
    loaded = CRF(NUM_TAGS)  # no constraints given: they come from the file
    loaded.load_state_dict(safetensors_torch.load_file(str(path)))
    emissions, _, mask = make_batch()
    assert loaded.viterbi(emissions, mask) == crf.viterbi(emissions, mask)
    assert torch.equal(loaded.allowed_end, crf.allowed_end)
    assert "constrained=True" in repr(loaded) and "constrained=False" in repr(CRF(NUM_TAGS))


def test_init_is_uniform_within_a_tenth() -> None:
    crf = CRF(17)
    for parameter in crf.parameters():
        assert parameter.abs().max() <= 0.1 and parameter.std() > 0
    assert crf.allowed_transitions.all() and crf.allowed_transitions.shape == (17, 17)


class Decode(torch.nn.Module):
    """Viterbi decoding as a module, for tracing and exporting."""

    def __init__(self, crf: CRF) -> None:
        super().__init__()
        self.crf = crf

    def forward(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.crf.viterbi_tensor(emissions, mask)


def test_viterbi_tensor_traces_without_data_dependent_control_flow() -> None:
    crf = make_crf(True)
    emissions, _, mask = make_batch(dtype=torch.float32)

    with warnings.catch_warnings():
        # torch.jit.trace is deprecated in recent torch; only the trace itself matters here.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("error", torch.jit.TracerWarning)
        traced = torch.jit.trace(Decode(crf), (emissions, mask), check_trace=False)
    other_emissions, _, other_mask = make_batch([2, 4, 4, 1], seed=9, dtype=torch.float32)
    for tensors in [(emissions, mask), (other_emissions, other_mask)]:
        expected_tags, expected_scores = crf.viterbi_tensor(*tensors)
        traced_tags, traced_scores = traced(*tensors)
        assert torch.equal(traced_tags, expected_tags)
        assert torch.allclose(traced_scores, expected_scores)


def test_viterbi_tensor_exports_with_static_shapes() -> None:
    # Every supported torch (2.2 too): the checks' compile test must be traceable by dynamo.
    crf = make_crf(True)
    emissions, _, mask = make_batch(dtype=torch.float32)

    exported_tags, exported_scores = torch.export.export(Decode(crf), (emissions, mask)).module()(emissions, mask)
    expected_tags, expected_scores = crf.viterbi_tensor(emissions, mask)
    assert torch.equal(exported_tags, expected_tags) and torch.allclose(exported_scores, expected_scores)


@pytest.mark.skipif(
    tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 3),
    reason="torch.export of a dynamic batch needs torch >= 2.3 (torch 2.2's shape-constraint solver asserts)",
)
def test_viterbi_tensor_exports_with_dynamic_batch() -> None:
    # The time loop unrolls, so seq_len is fixed in an exported graph; the batch size may vary.
    import torch.export as export

    crf = make_crf(True)
    emissions, _, mask = make_batch(dtype=torch.float32)

    batch = export.Dim("batch")
    program = export.export(Decode(crf), (emissions, mask), dynamic_shapes={"emissions": {0: batch}, "mask": {0: batch}})
    other_emissions, _, other_mask = make_batch([2, 4, 1, 4, 3, 1], seed=9, dtype=torch.float32)
    exported_tags, exported_scores = program.module()(other_emissions, other_mask)
    expected_tags, expected_scores = crf.viterbi_tensor(other_emissions, other_mask)
    assert torch.equal(exported_tags, expected_tags)
    assert torch.allclose(exported_scores, expected_scores)


def _bad(**changes: object) -> dict:
    emissions, tags, mask = make_batch(dtype=torch.float32)
    tags = tags.clamp(min=0)
    arguments = {"emissions": emissions, "tags": tags, "mask": mask}
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (lambda: _bad(emissions=torch.zeros(4, 5)), "3 dimensions"),
        (lambda: _bad(emissions=torch.zeros(4, 4, 6)), "num_tags=5"),
        (lambda: _bad(emissions=torch.zeros(4, 4, 5, dtype=torch.long)), "floating-point"),
        (lambda: _bad(emissions=torch.zeros(4, 0, 5), mask=torch.zeros(4, 0, dtype=torch.bool)), "seq_len >= 1"),
        (lambda: _bad(mask=torch.ones(4, 4, dtype=torch.uint8)), "torch.bool"),
        (lambda: _bad(mask=torch.ones(4, 3, dtype=torch.bool)), r"mask must have shape \(batch, seq_len\)"),
        (lambda: _bad(mask=torch.tensor([[True] * 4] * 3 + [[False, True, True, True]])), r"mask\[:, 0\]"),
        (lambda: _bad(mask=torch.tensor([[True] * 4] * 3 + [[True, False, True, False]])), "left-aligned"),
        (lambda: _bad(tags=torch.zeros(4, 3, dtype=torch.long)), "tags must have shape"),
        (lambda: _bad(tags=torch.zeros(4, 4)), "integer dtype"),
        (lambda: _bad(tags=torch.full((4, 4), 5)), r"in \[0, 5\)"),
        (lambda: _bad(tags=torch.full((4, 4), -1)), r"in \[0, 5\)"),
    ],
)
def test_nll_rejects_bad_inputs(arguments, message: str) -> None:
    crf = make_crf(False)
    with pytest.raises(ValueError, match=message):
        crf.nll(**arguments())


def test_other_entry_points_validate_and_reject_bad_reduction() -> None:
    crf = make_crf(False)
    emissions, tags, mask = make_batch(dtype=torch.float32)
    gap = mask.clone()
    gap[2, 2] = True  # length-1 row with a True after a False
    for method in (crf.log_partition, crf.viterbi, crf.viterbi_tensor, crf.marginals):
        with pytest.raises(ValueError, match="left-aligned"):
            method(emissions, gap)
        with pytest.raises(ValueError, match="num_tags=5"):
            method(emissions[..., :4], mask)
    with pytest.raises(ValueError, match="reduction must be one of"):
        crf.nll(emissions, tags.clamp(min=0), mask, reduction="average")


@pytest.mark.parametrize(
    ("num_tags", "constraints", "message"),
    [
        (0, None, "positive int"),
        (2.0, None, "positive int"),
        (5, (BIOES_START, BIOES_ALLOWED), "3-tuple"),
        (5, (BIOES_START[:4], BIOES_ALLOWED, BIOES_END), r"allowed_start must have shape \(5,\)"),
        (5, (BIOES_START, BIOES_ALLOWED[:4], BIOES_END), r"allowed must have shape \(5, 5\)"),
        (5, (BIOES_START, BIOES_ALLOWED, [False] * 5), "forbid every"),
    ],
)
def test_constructor_rejects_bad_arguments(num_tags, constraints, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CRF(num_tags, constraints)


# ------------------------------------------------------------------ wide emissions in float32

SPREADS = [90.0, 120.0, 200.0, 1000.0]


def wide_batch(spread: float, lengths: list[int] = LENGTHS, seed: int = 11, num_tags: int = NUM_TAGS) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 emissions drawn uniformly over ``spread`` (the gap that broke exp-matmul), and a mask."""
    generator = torch.Generator().manual_seed(seed)
    seq_len = max(lengths)
    emissions = (torch.rand(len(lengths), seq_len, num_tags, generator=generator) - 0.5) * spread
    mask = torch.arange(seq_len)[None, :] < torch.tensor(lengths)[:, None]
    return emissions, mask


def float32_tolerance(spread: float) -> float:
    """What float32 rounding allows over a sum of SEQ_LEN terms of size ``spread``."""
    return 4e-6 * spread * SEQ_LEN + 1e-5


@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_float32_log_partition_and_nll_match_brute_force_with_wide_emissions(constrained: bool, spread: float) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, mask = wide_batch(spread)
    tags = legal_tags(padding=0)
    log_z = crf.log_partition(emissions, mask)
    losses = crf.nll(emissions, tags, mask, reduction="none")
    assert log_z.dtype == torch.float32
    for i, length in enumerate(LENGTHS):
        paths = brute_force(crf, emissions[i], length, constraints)
        expected = logsumexp(list(paths.values()))
        assert log_z[i].item() == pytest.approx(expected, abs=float32_tolerance(spread))
        gold = paths[tuple(tags[i, :length].tolist())]
        assert losses[i].item() == pytest.approx(expected - gold, abs=float32_tolerance(spread))
        assert losses[i].item() >= -float32_tolerance(spread)  # a negative log-likelihood


@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("constrained", [False, True], ids=["free", "bioes"])
def test_float32_marginals_and_gradients_match_brute_force_with_wide_emissions(constrained: bool, spread: float) -> None:
    crf = make_crf(constrained)
    constraints = BIOES if constrained else None
    emissions, mask = wide_batch(spread, seed=12)
    emissions.requires_grad_(True)
    marginals = crf.marginals(emissions, mask)
    # d log Z / d emissions[t, j] is the marginal of tag j at t: checks the backward pass too.
    (gradient,) = torch.autograd.grad(crf.log_partition(emissions, mask).sum(), emissions)
    assert torch.isfinite(gradient).all()
    for i, length in enumerate(LENGTHS):
        paths = brute_force(crf, emissions[i].detach(), length, constraints)
        log_z = logsumexp(list(paths.values()))
        expected = torch.zeros(length, NUM_TAGS, dtype=torch.float64)
        for path, score in paths.items():
            for t, tag in enumerate(path):
                expected[t, tag] += math.exp(score - log_z)
        # exp(log_alpha + log_beta - log_z) rounds its argument of size ~spread in float32.
        tolerance = 1e-6 * spread * SEQ_LEN + 1e-5
        assert torch.allclose(marginals[i, :length].double(), expected, atol=tolerance)
        assert torch.allclose(gradient[i, :length].double(), expected, atol=tolerance)
    assert gradient[~mask].eq(0).all()


@pytest.mark.parametrize("spread", [10.0, *SPREADS])
def test_float32_equals_float64_at_the_reference_size(spread: float) -> None:
    """17 IOBES tags, batch 32, lengths 20-40: float32 within rounding of float64 (exact there)."""
    from tagger.schemes import allowed_transitions

    labels = ["O"] + [f"{p}-{t}" for t in ("PER", "LOC", "ORG", "MISC") for p in "BIES"]
    torch.manual_seed(3)
    crf = CRF(len(labels), allowed_transitions(labels, "IOBES"))
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_(0.0, 3.0)
    lengths = torch.randint(20, 41, (32,), generator=torch.Generator().manual_seed(4)).tolist()
    emissions, mask = wide_batch(spread, lengths, seed=13, num_tags=len(labels))
    tags = torch.zeros(emissions.shape[:2], dtype=torch.long)  # all O: a legal path
    single = crf.nll(emissions, tags, mask, reduction="none")
    double = crf.double().nll(emissions.double(), tags, mask, reduction="none")
    tolerance = 4e-6 * spread * 40 + 1e-4
    assert (single.double() - double).abs().max().item() <= tolerance


@pytest.mark.parametrize("spread", SPREADS)
def test_float32_log_partition_where_the_best_predecessor_is_far_below(spread: float) -> None:
    """O is best at step 0 by ``spread``, but I/E (reachable from B only) win the next steps.

    The exp-matmul form used to clamp the underflowed sums of I/E to float32's tiny, which
    overestimated log Z by about ``spread - 87``.
    """
    crf = make_crf(True)
    low, high = -spread / 2, spread / 2
    rows = [
        [high, low, low, low, low],  # O
        [low, low, high, high, low],  # I or E (after B only)
        [low, low, low, high, low],  # E
        [low, low, low, low, high],  # S
    ]
    emissions = torch.tensor([rows], dtype=torch.float32)
    mask = torch.ones(1, 4, dtype=torch.bool)
    expected = logsumexp(list(brute_force(crf, emissions[0], 4, BIOES).values()))
    assert crf.log_partition(emissions, mask).item() == pytest.approx(expected, abs=float32_tolerance(spread))
