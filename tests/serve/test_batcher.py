"""The micro-batcher alone: batching, the token budget, fair shares, errors per request, cancellation, closing."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest

from tagger.serve.batcher import BatcherClosed, MicroBatcher, QueueFull


class Recorder:
    """A batch function that doubles numbers, records each call, and can be held at a gate."""

    def __init__(self, fail_on=None, gate: threading.Event | None = None):
        self.calls: List[List[int]] = []
        self.fail_on = fail_on
        self.gate = gate
        self.started = threading.Event()

    def __call__(self, items: List[int]) -> List[int]:
        self.calls.append(list(items))
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot compute {self.fail_on}")
        return [2 * item for item in items]


def unit_cost(item: int) -> int:
    return 1


def test_one_request_gets_its_results_in_order():
    run = Recorder()
    batcher = MicroBatcher(run, unit_cost, max_wait_ms=0)
    assert batcher.submit([3, 1, 2]).result(10) == [6, 2, 4]
    batcher.close()


def test_requests_arriving_within_the_wait_are_one_call_each_getting_its_own_results():
    run = Recorder()
    batcher = MicroBatcher(run, unit_cost, max_batch_tokens=1000, max_wait_ms=1000)
    futures = [batcher.submit([i, 100 + i]) for i in range(20)]
    assert [future.result(10) for future in futures] == [[2 * i, 200 + 2 * i] for i in range(20)]
    assert len(run.calls) == 1
    assert sorted(run.calls[0]) == sorted([i for i in range(20)] + [100 + i for i in range(20)])
    batcher.close()


def test_a_full_budget_does_not_wait():
    run = Recorder()
    batcher = MicroBatcher(run, unit_cost, max_batch_tokens=4, max_wait_ms=60_000)
    started = time.monotonic()
    assert batcher.submit([1, 2, 3, 4]).result(10) == [2, 4, 6, 8]
    assert time.monotonic() - started < 30
    batcher.close()


def test_calls_stay_within_the_token_budget():
    run = Recorder()
    batcher = MicroBatcher(run, lambda item: item, max_batch_tokens=10, max_wait_ms=50)
    futures = [batcher.submit([3, 4, 2]) for _ in range(6)]
    assert all(future.result(10) == [6, 8, 4] for future in futures)
    assert all(sum(call) <= 10 for call in run.calls)
    assert sum(len(call) for call in run.calls) == 18
    batcher.close()


def test_an_item_over_the_budget_goes_alone():
    run = Recorder()
    batcher = MicroBatcher(run, lambda item: item, max_batch_tokens=10, max_wait_ms=50)
    big, small = batcher.submit([50]), batcher.submit([1])
    assert (big.result(10), small.result(10)) == ([100], [2])
    assert [50] in run.calls
    batcher.close()


def test_a_huge_request_does_not_hold_up_a_small_one_beyond_its_share():
    gate = threading.Event()
    run = Recorder(gate=gate)
    batcher = MicroBatcher(run, unit_cost, max_batch_tokens=100, max_wait_ms=0)
    huge = batcher.submit(list(range(1000)))
    assert run.started.wait(10)  # the first 100 of the huge request are being computed
    small = batcher.submit([-1, -2])
    gate.set()
    assert small.result(10) == [-2, -4]
    assert huge.result(10) == [2 * i for i in range(1000)]
    served = next(index for index, call in enumerate(run.calls) if -1 in call)
    assert served == 1, f"the small request waited for {served} calls"
    assert len(run.calls) >= 10 and all(len(call) <= 100 for call in run.calls)
    batcher.close()


def test_an_error_reaches_only_the_request_that_causes_it():
    run = Recorder(fail_on=13)
    batcher = MicroBatcher(run, unit_cost, max_wait_ms=500)
    good, bad, other = batcher.submit([1, 2]), batcher.submit([12, 13]), batcher.submit([3])
    assert good.result(10) == [2, 4] and other.result(10) == [6]
    with pytest.raises(ValueError, match="cannot compute 13"):
        bad.result(10)
    assert len(run.calls) == 4  # the shared call failed, then each request alone
    assert batcher.submit([5]).result(10) == [10]  # the worker lives on
    assert batcher.pending_tokens == 0
    batcher.close()


def test_a_wrong_number_of_results_is_an_error_for_the_caller():
    batcher = MicroBatcher(lambda items: items[:-1], unit_cost, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
        batcher.submit([1, 2]).result(10)
    batcher.close()


def test_a_cancelled_request_is_not_computed():
    gate = threading.Event()
    run = Recorder(gate=gate)
    batcher = MicroBatcher(run, unit_cost, max_wait_ms=0)
    first = batcher.submit([1])
    assert run.started.wait(10)
    cancelled = batcher.submit([7, 8])
    assert cancelled.cancel()
    gate.set()
    assert first.result(10) == [2]
    assert batcher.submit([3]).result(10) == [6]
    assert all(7 not in call for call in run.calls)
    assert batcher.pending_tokens == 0
    batcher.close()


def test_too_much_waiting_is_refused():
    gate = threading.Event()
    run = Recorder(gate=gate)
    batcher = MicroBatcher(run, unit_cost, max_wait_ms=0, max_pending_tokens=5)
    first = batcher.submit([1, 2, 3, 4])
    with pytest.raises(QueueFull):
        batcher.submit([5, 6])
    fits = batcher.submit([5])  # 4 + 1 waiting tokens: within the limit
    gate.set()
    assert first.result(10) == [2, 4, 6, 8] and fits.result(10) == [10]
    batcher.close()


def test_close_finishes_what_was_submitted_then_stops_the_thread():
    run = Recorder()
    batcher = MicroBatcher(run, unit_cost, max_wait_ms=5_000)
    futures = [batcher.submit([i]) for i in range(5)]
    batcher.close()
    assert [future.result(0) for future in futures] == [[0], [2], [4], [6], [8]]
    assert batcher._worker is not None and not batcher._worker.is_alive()
    assert not any(thread.name == "tagger-micro-batcher" for thread in threading.enumerate())
    with pytest.raises(BatcherClosed):
        batcher.submit([1])


def test_an_empty_request_needs_no_call_and_no_thread():
    run = Recorder()
    batcher = MicroBatcher(run, unit_cost)
    assert batcher.submit([]).result(0) == []
    assert run.calls == [] and batcher._worker is None
    batcher.close()


@pytest.mark.parametrize("options", [{"max_batch_tokens": 0}, {"max_wait_ms": -1}])
def test_bad_settings_are_refused(options):
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), unit_cost, **options)
