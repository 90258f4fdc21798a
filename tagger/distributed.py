"""Training one model on several processes, as ``torchrun`` starts them: torch.distributed's DDP.

``torchrun --nproc-per-node N -m tagger.cli train ...`` starts N copies of the command and tells
each its ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` (and where to meet: ``MASTER_ADDR`` and
``MASTER_PORT``). Each process then takes a disjoint share of every epoch's length-bucketed
batches, the same number of steps on every rank; ``DistributedDataParallel`` averages the
gradients, so the ranks hold identical weights, and a step over N batches of ``batch_size``
sentences is one step over ``N * batch_size``. Rank 0 alone writes checkpoints and the model
directory; every rank scores the whole dev set with the same weights, so they agree on the score
and on when to stop. The backend is NCCL on GPUs and gloo on CPUs.

A rank that dies (a crash, an out-of-memory kill) stops the run: torchrun ends the others, and a
collective that waits on a dead peer fails after ``TIMEOUT_S`` seconds rather than hanging.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from typing import Any, Iterator, List, Mapping, Optional, Sequence, TypeVar

import torch

from tagger.errors import ConfigError

T = TypeVar("T")

TIMEOUT_S = 600.0
"""Seconds a collective waits for the other ranks (torchrun's default is 30 minutes): longer than
any one step or dev evaluation, short beside a hang. ``TAGGER_DIST_TIMEOUT_S`` overrides it."""


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run: its rank, the number of processes and their backend."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None

    @property
    def main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1


SINGLE = Ranks()
"""The one process of a run that torchrun did not start."""


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"the environment variable {name} must be an integer, got {value!r}") from None


def ranks_from_environment(environ: Optional[Mapping[str, str]] = None) -> Ranks:
    """The ranks torchrun's environment variables describe; ``SINGLE`` without them (or with WORLD_SIZE 1).

    Raises:
        ConfigError: a variable that is not an integer, or a rank outside ``[0, WORLD_SIZE)``.
    """
    environ = os.environ if environ is None else environ
    world_size = _env_int(environ, "WORLD_SIZE", 1)
    if world_size <= 1:
        return SINGLE
    rank, local_rank = _env_int(environ, "RANK", -1), _env_int(environ, "LOCAL_RANK", 0)
    if not 0 <= rank < world_size or local_rank < 0:
        raise ConfigError(f"RANK must be in [0, WORLD_SIZE={world_size}) and LOCAL_RANK >= 0, got RANK={rank}, LOCAL_RANK={local_rank}")
    return Ranks(rank, world_size, local_rank)


def device_for(device: torch.device, ranks: Ranks) -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` for a CUDA device given without an index, else ``device``."""
    if ranks.active and device.type == "cuda" and device.index is None:
        return torch.device("cuda", ranks.local_rank)
    return device


@contextlib.contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[Ranks]:
    """Joins the run's process group (NCCL on GPUs, gloo on CPUs) for the block; yields ``ranks`` with its backend.

    A group that is initialised already (by the caller) is used as it is and left alone; one this
    function initialised is destroyed at the end, so the process is left as it was found.
    """
    if not ranks.active:
        yield ranks
        return
    import torch.distributed as dist

    if dist.is_initialized():
        yield Ranks(ranks.rank, ranks.world_size, ranks.local_rank, dist.get_backend())
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = float(os.environ.get("TAGGER_DIST_TIMEOUT_S", TIMEOUT_S))
    dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size, timeout=datetime.timedelta(seconds=timeout))
    try:
        yield Ranks(ranks.rank, ranks.world_size, ranks.local_rank, backend)
    finally:
        dist.destroy_process_group()


def shard(batches: Sequence[T], ranks: Ranks) -> List[T]:
    """This rank's share of an epoch's batches: every ``world_size``-th one from its rank on.

    Each rank gets ``len(batches) // world_size`` of them, so that all take the same number of
    steps (DDP needs every rank in every step); the at most ``world_size - 1`` batches left over
    differ from epoch to epoch, as the batches are shuffled.
    """
    usable = len(batches) - len(batches) % ranks.world_size
    return list(batches[ranks.rank : usable : ranks.world_size])


class _Loss(torch.nn.Module):
    """The model's training loss as a module's forward, which DDP needs to synchronise gradients."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, batch: Any, words: Any) -> torch.Tensor:
        return self.model.loss(batch, words)


def loss_function(model: Any, ranks: Ranks, device: torch.device) -> Any:
    """``model.loss``, or for several ranks the forward of a DDP wrapper whose backward averages the gradients.

    Buffers are not re-sent at every step (``broadcast_buffers=False``): the frozen rows of the
    word vectors are a buffer of tens of megabytes that never changes; DDP sends the weights and
    buffers of rank 0 to the others once, when it wraps the model.
    """
    if not ranks.active:
        return model.loss
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(_Loss(model), device_ids=device_ids, broadcast_buffers=False)


def all_sum(value: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """``value`` summed over the ranks (itself with one rank)."""
    if not ranks.active:
        return value
    import torch.distributed as dist

    total = value.detach().clone()
    dist.all_reduce(total)
    return total


def barrier(ranks: Ranks) -> None:
    """Waits until every rank gets here (nothing with one rank)."""
    if ranks.active:
        import torch.distributed as dist

        dist.barrier()
