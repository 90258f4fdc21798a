"""Batch-first linear-chain CRF: negative log-likelihood loss, Viterbi decoding and posterior marginals.

Scores of a tag path ``y_1..y_n`` for one sentence::

    start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_n]

Optional constraints (``tagger.schemes.allowed_transitions``) are kept as bool buffers; forbidden
moves score ``FORBIDDEN_SCORE`` (a large finite negative number rather than ``-inf``, so gradients and
half precision stay finite) in both the forward algorithm and Viterbi.

Everything is vectorised over the batch; the only Python loops run over time steps. Inputs in
float16/bfloat16 are computed in float32; float32 and float64 inputs are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

FORBIDDEN_SCORE = -10000.0
"""Score given to a start, transition or end that the constraints forbid."""

REDUCTIONS = ("none", "sum", "mean", "token_mean")

# The fast forward algorithm trusts a step's sums only above tiny * 2**24 (about exp(-70) in float32,
# exp(-691) in float64): below it a sum may be made of underflowed terms. Terms that underflow
# are each below tiny, so beside a sum of at least tiny * 2**24 their error is under 2**-24 per tag.
_FAST_FLOOR_FACTOR = 2.0**24


def _compiler_is_compiling() -> Callable[[], bool]:
    """torch.compiler.is_compiling (torch >= 2.3), else torch._dynamo's (torch 2.2).

    Looked up once, at import: torch 2.2's dynamo cannot trace ``hasattr`` on a module, so the
    lookup must not happen inside a traced or exported function.
    """
    if hasattr(torch.compiler, "is_compiling"):
        return torch.compiler.is_compiling
    from torch._dynamo import is_compiling

    return is_compiling


_is_compiling = _compiler_is_compiling()


def _in_graph_capture() -> bool:
    """True while tracing, scripting, exporting or compiling, where data-dependent checks must not run."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return True
    if _is_compiling():
        return True
    is_exporting = getattr(getattr(torch, "onnx", None), "is_in_onnx_export", None)
    return bool(is_exporting is not None and is_exporting())


class CRF(nn.Module):
    """Linear-chain conditional random field over ``num_tags`` tags, batch-first, with bool masks.

    Args:
        num_tags: Number of tags (size of the last dimension of the emissions).
        constraints: Optional ``(allowed_start, allowed, allowed_end)`` as returned by
            ``tagger.schemes.allowed_transitions``: ``allowed_start[j]`` says whether a sentence may
            start with tag ``j``, ``allowed[i][j]`` whether tag ``i`` may be followed by tag ``j`` and
            ``allowed_end[i]`` whether a sentence may end with tag ``i``. ``None`` allows everything.

    Attributes:
        start_transitions: ``(num_tags,)`` score of starting with each tag.
        end_transitions: ``(num_tags,)`` score of ending with each tag.
        transitions: ``(num_tags, num_tags)``; ``transitions[i, j]`` scores the move ``i -> j``.
        allowed_start, allowed_transitions, allowed_end: bool buffers holding the constraints (all
            True without constraints); persistent, so they are saved and loaded with the state dict.
    """

    allowed_start: torch.Tensor
    allowed_transitions: torch.Tensor
    allowed_end: torch.Tensor

    def __init__(
        self,
        num_tags: int,
        constraints: tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(f"num_tags must be a positive int, got {num_tags!r}")
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags))  # shape: (num_tags,)
        self.end_transitions = nn.Parameter(torch.empty(num_tags))  # shape: (num_tags,)
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # shape: (num_tags, num_tags)
        allowed_start, allowed, allowed_end = self._constraint_tensors(num_tags, constraints)
        self.register_buffer("allowed_start", allowed_start, persistent=True)  # shape: (num_tags,)
        self.register_buffer("allowed_transitions", allowed, persistent=True)  # shape: (num_tags, num_tags)
        self.register_buffer("allowed_end", allowed_end, persistent=True)  # shape: (num_tags,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the three score tensors uniformly in [-0.1, 0.1]."""
        nn.init.uniform_(self.start_transitions, -0.1, 0.1)
        nn.init.uniform_(self.end_transitions, -0.1, 0.1)
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def extra_repr(self) -> str:
        """Show the tag count and whether constraints are active."""
        constrained = not bool(self.allowed_start.all() and self.allowed_transitions.all() and self.allowed_end.all())
        return f"num_tags={self.num_tags}, constrained={constrained}"

    # ------------------------------------------------------------------ public API

    def nll(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """Negative log-likelihood of the gold tags: ``log Z - score(tags)``, a loss to minimise.

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float scores from the encoder.
            tags: ``(batch, seq_len)`` integer gold tags; values at padding positions are ignored.
            mask: ``(batch, seq_len)`` bool, True at real tokens, left-aligned (``mask[:, 0]`` all True).
            reduction: ``"none"`` -> ``(batch,)``; ``"sum"``; ``"mean"`` over sentences;
                ``"token_mean"``: sum divided by the number of real tokens.

        Returns:
            The loss, ``(batch,)`` for ``"none"``, else a scalar; float32 for half-precision inputs.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        emissions, mask, long_tags = self._validate(emissions, mask, tags)
        assert long_tags is not None  # given tags come back (as long)
        tags = long_tags
        start, transitions, end = self.constrained_scores(emissions.dtype)
        log_z = self._log_partition(emissions, mask, start, transitions, end)  # shape: (batch,)
        gold = self._score(emissions, tags, mask, start, transitions, end)  # shape: (batch,)
        nll = log_z - gold  # shape: (batch,)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "mean":
            return nll.mean()
        return nll.sum() / mask.sum()

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Log of the partition function (sum over all allowed paths) by the forward algorithm.

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float.
            mask: ``(batch, seq_len)`` bool, left-aligned.

        Returns:
            ``(batch,)`` log Z per sentence.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start, transitions, end = self.constrained_scores(emissions.dtype)
        return self._log_partition(emissions, mask, start, transitions, end)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of the given tag paths (forbidden moves count ``FORBIDDEN_SCORE``).

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float.
            tags: ``(batch, seq_len)`` integer; values at padding positions are ignored.
            mask: ``(batch, seq_len)`` bool, left-aligned.

        Returns:
            ``(batch,)`` path scores.
        """
        emissions, mask, long_tags = self._validate(emissions, mask, tags)
        assert long_tags is not None  # given tags come back (as long)
        tags = long_tags
        start, transitions, end = self.constrained_scores(emissions.dtype)
        return self._score(emissions, tags, mask, start, transitions, end)

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Best tag path per sentence.

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float.
            mask: ``(batch, seq_len)`` bool, left-aligned.

        Returns:
            One list of tag ids per sentence, each as long as the sentence's real length.
        """
        best_tags, _ = self.viterbi_tensor(emissions, mask)  # shape: (batch, seq_len)
        lengths = mask.sum(dim=1, dtype=torch.long)  # shape: (batch,)
        # One device->host transfer for tags and lengths together.
        rows = torch.cat([lengths.unsqueeze(1), best_tags], dim=1).tolist()  # (batch, 1 + seq_len)
        return [row[1 : 1 + row[0]] for row in rows]

    def viterbi_tensor(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Best tag paths and their scores as tensors (tensor ops only; traceable for export).

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float.
            mask: ``(batch, seq_len)`` bool, left-aligned.

        Returns:
            ``(best_tags, best_scores)``: ``(batch, seq_len)`` long tags, 0 at padding, and
            ``(batch,)`` scores of those paths.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start, transitions, end = self.constrained_scores(emissions.dtype)
        seq_len = emissions.shape[1]

        # Forward pass: best score of any path ending in each tag, and where it came from.
        score = start + emissions[:, 0]  # shape: (batch, num_tags)
        backpointers = [torch.zeros_like(score, dtype=torch.long)]  # position 0 has no predecessor
        for t in range(1, seq_len):
            # candidates[b, i, j]: best path ending in i at t-1, then moving to j at t.
            candidates = score.unsqueeze(2) + transitions  # shape: (batch, num_tags, num_tags)
            best_prev_score, best_prev = candidates.max(dim=1)  # shape: (batch, num_tags) twice
            next_score = best_prev_score + emissions[:, t]  # shape: (batch, num_tags)
            score = torch.where(mask[:, t].unsqueeze(1), next_score, score)  # shape: (batch, num_tags)
            backpointers.append(best_prev)
        history = torch.stack(backpointers)  # shape: (seq_len, batch, num_tags)
        best_scores, best_last = (score + end).max(dim=1)  # shape: (batch,) twice

        # Backtracking, every sentence starting from its own last real position.
        last_index = mask.sum(dim=1) - 1  # shape: (batch,)
        current = best_last  # shape: (batch,) tag at position t (meaningful once t <= last_index)
        path_reversed = []
        for t in range(seq_len - 1, -1, -1):
            current = torch.where(last_index == t, best_last, current)  # shape: (batch,)
            path_reversed.append(torch.where(mask[:, t], current, torch.zeros_like(current)))
            current = history[t].gather(1, current.unsqueeze(1)).squeeze(1)  # shape: (batch,) tag at t-1
        best_tags = torch.stack(path_reversed[::-1], dim=1)  # shape: (batch, seq_len)
        return best_tags, best_scores

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Posterior probability of each tag at each position, by forward-backward.

        Args:
            emissions: ``(batch, seq_len, num_tags)`` float.
            mask: ``(batch, seq_len)`` bool, left-aligned.

        Returns:
            ``(batch, seq_len, num_tags)``; each real position sums to 1, padding positions are 0.
        """
        emissions, mask, _ = self._validate(emissions, mask)
        start, transitions, end = self.constrained_scores(emissions.dtype)
        seq_len = emissions.shape[1]
        step_mask = mask.unsqueeze(2)  # shape: (batch, seq_len, 1)

        alpha = start + emissions[:, 0]  # shape: (batch, num_tags)
        alphas = [alpha]
        for t in range(1, seq_len):
            next_alpha = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(step_mask[:, t], next_alpha, alpha)  # shape: (batch, num_tags)
            alphas.append(alpha)

        # beta[t, i]: log-sum of scores from tag i at t to the end (end transition included).
        beta = end.expand_as(alpha)  # shape: (batch, num_tags)
        betas = [beta]
        for t in range(seq_len - 2, -1, -1):
            ahead = (emissions[:, t + 1] + beta).unsqueeze(1)  # shape: (batch, 1, num_tags)
            next_beta = torch.logsumexp(transitions + ahead, dim=2)  # shape: (batch, num_tags)
            beta = torch.where(step_mask[:, t + 1], next_beta, beta)  # shape: (batch, num_tags)
            betas.append(beta)

        log_z = torch.logsumexp(alpha + end, dim=1)  # shape: (batch,)
        log_alpha = torch.stack(alphas, dim=1)  # shape: (batch, seq_len, num_tags)
        log_beta = torch.stack(betas[::-1], dim=1)  # shape: (batch, seq_len, num_tags)
        posterior = torch.exp(log_alpha + log_beta - log_z[:, None, None])  # shape: (batch, seq_len, num_tags)
        return torch.where(step_mask, posterior, torch.zeros_like(posterior))

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _constraint_tensors(
        num_tags: int,
        constraints: tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Turn the constraint lists into bool tensors, checking their shapes."""
        if constraints is None:
            return (
                torch.ones(num_tags, dtype=torch.bool),
                torch.ones(num_tags, num_tags, dtype=torch.bool),
                torch.ones(num_tags, dtype=torch.bool),
            )
        if not isinstance(constraints, (tuple, list)) or len(constraints) != 3:
            raise ValueError(
                "constraints must be a 3-tuple (allowed_start, allowed, allowed_end), "
                f"got {type(constraints).__name__}" + (f" of length {len(constraints)}" if isinstance(constraints, (tuple, list)) else "")
            )
        names = ("allowed_start", "allowed", "allowed_end")
        shapes = ((num_tags,), (num_tags, num_tags), (num_tags,))
        tensors = []
        for name, shape, value in zip(names, shapes, constraints):
            try:
                tensor = torch.as_tensor(value, dtype=torch.bool).detach().clone().cpu()
            except (TypeError, ValueError, RuntimeError) as error:
                raise ValueError(f"constraints: {name} must be nested lists of bools: {error}") from None
            if tuple(tensor.shape) != shape:
                raise ValueError(f"constraints: {name} must have shape {shape}, got {tuple(tensor.shape)}")
            tensors.append(tensor)
        allowed_start, allowed, allowed_end = tensors
        if not allowed_start.any() or not allowed_end.any():
            raise ValueError("constraints forbid every start tag or every end tag; no path would be allowed")
        return allowed_start, allowed, allowed_end

    def constrained_scores(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start, transition and end scores in ``dtype`` with forbidden moves set to ``FORBIDDEN_SCORE``.

        Computed once per public call, never per time step.
        """
        start = torch.where(self.allowed_start, self.start_transitions.to(dtype), FORBIDDEN_SCORE)
        transitions = torch.where(self.allowed_transitions, self.transitions.to(dtype), FORBIDDEN_SCORE)
        end = torch.where(self.allowed_end, self.end_transitions.to(dtype), FORBIDDEN_SCORE)
        return start, transitions, end  # shapes: (num_tags,), (num_tags, num_tags), (num_tags,)

    def _log_partition(
        self,
        emissions: torch.Tensor,
        mask: torch.Tensor,
        start: torch.Tensor,
        transitions: torch.Tensor,
        end: torch.Tensor,
    ) -> torch.Tensor:
        """Forward algorithm in log space: the fast exp-matmul form, exact rows redone by logsumexp.

        ``logsumexp_i(alpha_i + T_ij) = m + c_j + log(sum_i exp(alpha_i - m) exp(T_ij - c_j))`` with
        ``m`` the row maximum of alpha and ``c_j`` the column maximum of T: one (batch, num_tags) exp
        and a matrix product per step instead of a (batch, num_tags, num_tags) logsumexp, which
        halved the CRF's share of a training step. It is exact (to rounding) as long as every sum
        is a normal number far above the underflow threshold: then its largest term is too, and
        the terms lost to underflow are negligible beside it. A sum below ``_FAST_FLOOR`` means
        that some tag's live predecessors lie ~70 or more below the best one (emissions spread
        over more than float32's exponent range, or a tag only forbidden moves reach); those
        sentences, and only those, are computed again with logsumexp (``_log_partition_exact``).
        One device->host transfer per call tells which.
        """
        assert emissions.dim() == 3 and emissions.shape[2] == self.num_tags, emissions.shape
        assert mask.shape == emissions.shape[:2] and mask.dtype == torch.bool, (mask.shape, mask.dtype)
        if _in_graph_capture():  # no data-dependent branch there: always the exact form
            return self._log_partition_exact(emissions, mask, start, transitions, end)
        step_mask = mask.unsqueeze(2)  # shape: (batch, seq_len, 1)
        floor = torch.finfo(emissions.dtype).tiny * _FAST_FLOOR_FACTOR
        column_max = transitions.detach().amax(dim=0)  # shape: (num_tags,)
        exp_transitions = (transitions - column_max).exp()  # shape: (num_tags, num_tags), at most 1
        shifted_emissions = emissions + column_max  # shape: (batch, seq_len, num_tags)
        alpha = start + emissions[:, 0]  # shape: (batch, num_tags)
        sums = []
        # Autocast is turned off: its bfloat16/float16 matrix products would lose the precision
        # that _validate's float32 emissions keep.
        with torch.autocast(emissions.device.type, enabled=False):
            for t in range(1, emissions.shape[1]):
                shift = alpha.detach().amax(dim=1, keepdim=True)  # shape: (batch, 1); any shift is exact
                summed = (alpha - shift).exp() @ exp_transitions  # shape: (batch, num_tags)
                sums.append(summed.detach())
                # The clamp only keeps log finite (and its gradient) where the row is redone anyway.
                next_alpha = summed.clamp_min(floor).log() + shift + shifted_emissions[:, t]  # shape: (batch, num_tags)
                alpha = torch.where(step_mask[:, t], next_alpha, alpha)  # shape: (batch, num_tags)
        log_z = torch.logsumexp(alpha + end, dim=1)  # shape: (batch,)
        if not sums:
            return log_z
        smallest = torch.stack(sums, dim=1).amin(dim=2)  # shape: (batch, seq_len - 1)
        inexact = ((smallest < floor) & mask[:, 1:]).any(dim=1)  # shape: (batch,)
        rows = inexact.nonzero().squeeze(1)  # the one device->host transfer
        if rows.numel() == 0:
            return log_z
        exact = self._log_partition_exact(emissions[rows], mask[rows], start, transitions, end)  # shape: (len(rows),)
        return log_z.index_put((rows,), exact)

    @staticmethod
    def _log_partition_exact(
        emissions: torch.Tensor,
        mask: torch.Tensor,
        start: torch.Tensor,
        transitions: torch.Tensor,
        end: torch.Tensor,
    ) -> torch.Tensor:
        """Forward algorithm with a (batch, num_tags, num_tags) logsumexp per step: exact at any range."""
        step_mask = mask.unsqueeze(2)  # shape: (batch, seq_len, 1)
        alpha = start + emissions[:, 0]  # shape: (batch, num_tags)
        with torch.autocast(emissions.device.type, enabled=False):
            for t in range(1, emissions.shape[1]):
                next_alpha = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]  # shape: (batch, num_tags)
                alpha = torch.where(step_mask[:, t], next_alpha, alpha)  # shape: (batch, num_tags)
        return torch.logsumexp(alpha + end, dim=1)  # shape: (batch,)

    def _score(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        start: torch.Tensor,
        transitions: torch.Tensor,
        end: torch.Tensor,
    ) -> torch.Tensor:
        """Score of the given paths; padding contributes nothing."""
        assert tags.shape == mask.shape == emissions.shape[:2], (tags.shape, mask.shape, emissions.shape)
        assert tags.dtype == torch.long, tags.dtype
        tags = torch.where(mask, tags, torch.zeros_like(tags))  # padding may hold e.g. -100
        zero = emissions.new_zeros(())
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # shape: (batch, seq_len)
        emitted = torch.where(mask, emitted, zero).sum(dim=1)  # shape: (batch,)
        moved = transitions[tags[:, :-1], tags[:, 1:]]  # shape: (batch, seq_len - 1)
        moved = torch.where(mask[:, 1:], moved, zero).sum(dim=1)  # shape: (batch,)
        last_index = mask.sum(dim=1, keepdim=True) - 1  # shape: (batch, 1)
        last_tags = tags.gather(1, last_index).squeeze(1)  # shape: (batch,)
        return start[tags[:, 0]] + emitted + moved + end[last_tags]  # shape: (batch,)

    def _validate(
        self,
        emissions: torch.Tensor,
        mask: torch.Tensor,
        tags: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Check the public inputs, raising ValueError with expected-versus-got messages.

        Returns the emissions in the compute dtype (float32 for half precision) and tags as long.
        """
        # torch.jit.trace turns sizes into tensors, and comparing them would emit TracerWarnings and bake
        # this input's shape into the trace, so size checks run only outside jit tracing.
        check_sizes = not torch.jit.is_tracing()
        self._check_emissions(emissions, check_sizes)
        _check_mask(mask, emissions, check_sizes)
        if tags is not None:
            _check_tags(tags, emissions, check_sizes)
            tags = tags.long()
        if not _in_graph_capture():
            self._check_values(mask, tags)
        # Half precision would lose too much in long sums of scores: compute in float32 then.
        compute_dtype = torch.promote_types(emissions.dtype, torch.float32)
        return emissions.to(compute_dtype), mask, tags

    def _check_emissions(self, emissions: torch.Tensor, check_sizes: bool) -> None:
        """Check the emissions' type, rank, dtype, num_tags, seq_len (with ``check_sizes``) and device."""
        if not isinstance(emissions, torch.Tensor):
            raise ValueError(f"emissions must be a torch.Tensor, got {type(emissions).__name__}")
        if emissions.dim() != 3:
            raise ValueError(
                f"emissions must have 3 dimensions (batch, seq_len, num_tags), got {emissions.dim()} with shape {tuple(emissions.shape)}"
            )
        if not emissions.dtype.is_floating_point:
            raise ValueError(f"emissions must be a floating-point tensor, got {emissions.dtype}")
        num_tags, seq_len = emissions.shape[2], emissions.shape[1]
        if check_sizes and num_tags != self.num_tags:
            raise ValueError(f"emissions must have num_tags={self.num_tags} in the last dimension, got {num_tags}")
        if check_sizes and seq_len < 1:
            raise ValueError(f"emissions must have seq_len >= 1, got shape {tuple(emissions.shape)}")
        if emissions.device != self.transitions.device:
            raise ValueError(f"emissions must be on the CRF's device {self.transitions.device}, got {emissions.device}")

    def _check_values(self, mask: torch.Tensor, tags: torch.Tensor | None) -> None:
        """The data-dependent checks (mask left-aligned and never empty, tags in range), in one device->host transfer."""
        problems = [~mask[:, 0].all(), (mask[:, 1:] & ~mask[:, :-1]).any()]
        if tags is not None:
            problems.append((((tags < 0) | (tags >= self.num_tags)) & mask).any())
        first_missing, has_gap, *bad_tags = torch.stack(problems).tolist()
        if first_missing:
            rows = (~mask[:, 0]).nonzero().flatten().tolist()
            raise ValueError(f"mask[:, 0] must be all True (every sentence non-empty), got False in rows {rows}")
        if has_gap:
            rows = (mask[:, 1:] & ~mask[:, :-1]).any(dim=1).nonzero().flatten().tolist()
            raise ValueError(f"mask must be left-aligned (Trues then Falses in each row), got a True after a False in rows {rows}")
        if bad_tags and bad_tags[0]:
            assert tags is not None  # bad_tags is checked only with tags
            real = tags[mask]
            raise ValueError(
                f"tags at real positions must be in [0, {self.num_tags}), got values from {real.min().item()} to {real.max().item()}"
            )


def _check_mask(mask: torch.Tensor, emissions: torch.Tensor, check_sizes: bool) -> None:
    """Check that the mask is a bool tensor of shape (batch, seq_len) on the emissions' device."""
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must have dtype torch.bool, got {mask.dtype}")
    _check_layout("mask", mask, emissions, check_sizes)


def _check_tags(tags: torch.Tensor, emissions: torch.Tensor, check_sizes: bool) -> None:
    """Check that the tags are an integer tensor of shape (batch, seq_len) on the emissions' device."""
    if not isinstance(tags, torch.Tensor):
        raise ValueError(f"tags must be a torch.Tensor, got {type(tags).__name__}")
    if tags.dtype.is_floating_point or tags.dtype.is_complex or tags.dtype == torch.bool:  # dtype properties: torch 2.2 traces these
        raise ValueError(f"tags must have an integer dtype (torch.long), got {tags.dtype}")
    _check_layout("tags", tags, emissions, check_sizes)


def _check_layout(name: str, value: torch.Tensor, emissions: torch.Tensor, check_sizes: bool) -> None:
    """Check that ``value`` (the mask or the tags) has shape (batch, seq_len) and the emissions' device."""
    expected = (emissions.shape[0], emissions.shape[1])
    if value.dim() != 2 or (check_sizes and tuple(value.shape) != expected):
        raise ValueError(f"{name} must have shape (batch, seq_len) = {expected}, got {tuple(value.shape)}")
    if value.device != emissions.device:
        raise ValueError(f"{name} must be on the emissions' device {emissions.device}, got {value.device}")
