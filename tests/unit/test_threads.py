from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from tagger.threads import ThreadGovernor, sample_cpu_time, threads_for


@pytest.mark.parametrize(
    ("others", "cores", "most", "expected"),
    [(0.0, 2, 2, 2), (0.3, 2, 2, 2), (0.7, 2, 2, 2), (0.8, 2, 2, 1), (2.0, 2, 2, 1), (1.0, 8, 4, 4), (5.8, 8, 8, 2), (0.0, 4, 1, 1)],
)
def test_threads_for(others: float, cores: int, most: int, expected: int) -> None:
    assert threads_for(others, cores, most) == expected


class FakeMachine:
    """A 2-core machine: each tick, this process uses `own` cores and other processes `others`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.busy = 0.0
        self.own = 0.0
        self.threads = 2
        self.calls: List[int] = []

    def advance(self, seconds: float, own: float, others: float) -> None:
        self.now += seconds
        self.own += own * seconds
        self.busy += (own + others) * seconds

    def sample(self) -> Optional[Tuple[float, float]]:
        return self.busy, self.own

    def set_threads(self, n: int) -> None:
        self.threads = n
        self.calls.append(n)


def make_governor(machine: FakeMachine) -> ThreadGovernor:
    governor = ThreadGovernor(machine.set_threads, lambda: machine.threads, sample=machine.sample, clock=lambda: machine.now, every_s=2.0)
    governor.cores = 2
    return governor


def test_governor_gives_up_a_core_to_another_job_and_takes_it_back() -> None:
    machine = FakeMachine()
    with make_governor(machine) as governor:

        def tick(own: float, others: float, seconds: float = 3.0) -> None:
            machine.advance(seconds, own=own, others=others)
            governor.step()

        tick(2.0, 0.0, seconds=1.0)  # too soon to look
        tick(2.0, 0.0, seconds=1.5)  # alone: keeps its 2 threads
        assert machine.calls == []
        tick(1.0, 1.0)  # another job holds a core: one reading is not enough
        assert machine.threads == 2
        tick(1.0, 1.0)  # two in a row are
        assert machine.threads == 1
        tick(1.0, 1.0)
        assert machine.calls == [1]  # stays at 1 without re-setting
        tick(1.0, 0.0)
        tick(1.0, 1.0)  # a gap of one reading changes nothing
        assert machine.calls == [1]
        tick(1.0, 0.0)
        tick(1.0, 0.0)  # the other job ended
        assert machine.threads == 2
        tick(2.0, 1.0)
        tick(2.0, 1.0)
        assert machine.threads == 1
    assert machine.threads == 2  # restored on exit
    assert machine.calls == [1, 2, 1, 2]


def test_governor_leaves_one_thread_and_unreadable_cpus_alone() -> None:
    machine = FakeMachine()
    machine.threads = 1
    with make_governor(machine) as governor:
        machine.advance(5.0, own=1.0, others=2.0)
        governor.step()
    assert machine.calls == []
    machine = FakeMachine()
    with ThreadGovernor(machine.set_threads, lambda: 2, sample=lambda: None, clock=lambda: machine.now) as governor:
        machine.advance(5.0, own=1.0, others=2.0)
        governor.step()
    assert machine.calls == []


def test_sample_cpu_time_reads_only_the_allowed_cpus(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  300 0 30 1000 10 0 0 0 0 0\ncpu0 100 0 10 500 5 0 0 0 0 0\ncpu1 200 0 20 500 5 0 0 0 0 0\nintr 1 2 3\n", encoding="ascii"
    )
    sample = sample_cpu_time([1], str(stat))
    assert sample is not None
    import os

    assert sample[0] == pytest.approx(220 / os.sysconf("SC_CLK_TCK"))
    assert sample_cpu_time([0], str(tmp_path / "missing")) is None
