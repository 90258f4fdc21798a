"""Torch's CPU threads fitted to the cores other processes leave free, so jobs sharing a machine do not spin.

torch's OpenMP threads busy-wait at the end of every parallel region. Two trainings on a 2-core
machine, each with 2 threads, spend most of their time spinning against each other: each ran at
0.20x of its solo speed. A passive wait policy (``OMP_WAIT_POLICY=PASSIVE``) helps the pair but
costs a third of the solo speed, because every small kernel then sleeps and wakes its threads.

:class:`ThreadGovernor` keeps the fast active wait and instead samples, every few seconds, how much
CPU time the cores this process may run on (``os.sched_getaffinity``) spent on *other* processes
(``/proc/stat`` minus this process's own ``os.times``). When others keep a core busy, torch gets one
thread fewer; when they stop, it gets its threads back (two readings in a row must agree, so a
passing burst changes nothing). On exit the thread count is restored.
Linux only; elsewhere (no ``/proc/stat``) it changes nothing.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable, Optional, Sequence, Tuple

CHECK_EVERY_S = 2.0
"""Seconds between two looks at the CPUs: long enough for a steady reading, short beside an epoch."""

Sample = Tuple[float, float]  # (busy CPU seconds of the allowed cores, this process's CPU seconds)


def allowed_cpus() -> Sequence[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def sample_cpu_time(cpus: Sequence[int], stat_path: str = "/proc/stat") -> Optional[Sample]:
    """Busy seconds of ``cpus`` since boot (from ``/proc/stat``) and this process's CPU seconds; None off Linux."""
    wanted = {f"cpu{n}" for n in cpus}
    try:
        with open(stat_path, encoding="ascii") as stat:
            lines = [line.split() for line in stat if line.startswith("cpu")]
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = 0
    for fields in lines:
        if fields[0] in wanted:
            values = [int(v) for v in fields[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            busy += sum(values[:8]) - idle  # user..steal; guest time is already in user
    own = os.times()
    return busy / ticks, own.user + own.system


def threads_for(others: float, cores: int, most: int) -> int:
    """Threads to use when other processes keep ``others`` of ``cores`` cores busy (at least 1, at most ``most``).

    A core counts as taken from 0.75 of it busy: light background work (an editor, a shell) keeps
    every thread, another training run (a whole core or more) takes one.
    """
    return max(1, min(most, cores - math.floor(others + 0.25)))


class ThreadGovernor:
    """Adjusts ``torch.set_num_threads`` to the free cores while training; a context manager.

    Args:
        set_threads: ``torch.set_num_threads``.
        get_threads: ``torch.get_num_threads``.
        sample: Returns a :data:`Sample` (or None); the default reads ``/proc/stat``.
        clock: Monotonic seconds.
        every_s: Seconds between two adjustments.
    """

    def __init__(
        self,
        set_threads: Callable[[int], None],
        get_threads: Callable[[], int],
        *,
        sample: Optional[Callable[[], Optional[Sample]]] = None,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = CHECK_EVERY_S,
    ):
        cpus = allowed_cpus()
        self.cores = len(cpus)
        self._set, self._get = set_threads, get_threads
        self._sample = sample or (lambda: sample_cpu_time(cpus))
        self._clock = clock
        self.every_s = every_s
        self.original = 0
        self.threads = 0
        self._last: Optional[Sample] = None
        self._last_time = 0.0
        self._proposed = 0  # what the last reading asked for: two readings in a row must agree

    def __enter__(self) -> "ThreadGovernor":
        self.original = self.threads = self._get()
        self._last, self._last_time = self._sample(), self._clock()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.threads != self.original:
            self._set(self.original)

    def step(self) -> None:
        """Cheap unless ``every_s`` has passed: then reads the CPUs and sets the thread count."""
        now = self._clock()
        if self._last is None or self.original < 2 or now - self._last_time < self.every_s:
            return
        current = self._sample()
        if current is None:
            return
        elapsed = now - self._last_time
        others = max(0.0, (current[0] - self._last[0]) - (current[1] - self._last[1])) / elapsed
        self._last, self._last_time = current, now
        threads = threads_for(others, self.cores, self.original)
        if threads != self.threads and threads == self._proposed:
            self._set(threads)
            self.threads = threads
        self._proposed = threads


class _Pinned:
    """A fixed thread count for the block (the user's ``num_threads``), restored on exit."""

    def __init__(self, set_threads: Callable[[int], None], get_threads: Callable[[], int], threads: int):
        self._set, self._get, self.threads = set_threads, get_threads, threads
        self.original = 0

    def __enter__(self) -> "_Pinned":
        self.original = self._get()
        self._set(self.threads)
        return self

    def __exit__(self, *exc: object) -> None:
        self._set(self.original)

    def step(self) -> None:
        """Nothing to adjust."""


def training_threads(num_threads: Optional[int]):
    """The thread policy of a training run, as a context manager with a ``step()`` to call after each batch.

    ``num_threads`` given: exactly that many, restored afterwards. Else a :class:`ThreadGovernor`,
    unless ``TAGGER_ADAPT_THREADS=0`` leaves torch's threads alone.
    """
    import torch

    if num_threads:
        return _Pinned(torch.set_num_threads, torch.get_num_threads, num_threads)
    if os.environ.get("TAGGER_ADAPT_THREADS", "1") == "0":
        return _Pinned(lambda n: None, torch.get_num_threads, 0)
    return ThreadGovernor(torch.set_num_threads, torch.get_num_threads)
