"""Micro-batching: requests that arrive close together are computed in one call, each caller getting its own results.

A :class:`MicroBatcher` owns one worker thread. Callers ``submit`` a list of items (sentences) and get
a ``concurrent.futures.Future`` of the list of results, in their order. The worker waits up to
``max_wait_ms`` after the oldest waiting request arrived (less when ``max_batch_tokens`` are already
waiting), then takes up to ``max_batch_tokens`` worth of items from the waiting requests, shared
out fairly: each request gets an equal share of the budget per call, so a huge request is cut into
pieces that alternate with the others' instead of holding them up for its whole length. Each
batch is one call of ``run``. When a call fails, the requests in it are run again one by one, so
an error reaches only the request that causes it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Callable, Deque, Generic, List, Optional, Sequence, Tuple, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class QueueFull(Exception):
    """The batcher already holds ``max_pending_tokens`` worth of waiting items: try again later."""


class BatcherClosed(Exception):
    """The batcher has been closed and takes no more requests."""


class _Request(Generic[Item, Result]):
    """One caller's items, how far the worker has got through them, and the future of their results."""

    def __init__(self, items: Sequence[Item], costs: List[int]):
        self.items = list(items)
        self.costs = costs
        self.results: List[Result] = []
        self.future: Future[List[Result]] = Future()
        self.arrived = time.monotonic()

    @property
    def remaining_cost(self) -> int:
        return sum(self.costs[len(self.results) :])


class MicroBatcher(Generic[Item, Result]):
    """Groups the items of concurrent requests into calls of ``run`` bounded by a token budget.

    Args:
        run: Computes the results of a list of items, one per item, in order (e.g. ``tagger.tag``).
        cost: The tokens one item counts for (at least 1 is counted).
        max_batch_tokens: The most tokens one call of ``run`` gets (an item larger than that goes alone).
        max_wait_ms: How long the oldest waiting request may wait for others to join its batch.
        max_pending_tokens: The most tokens that may wait; ``submit`` raises ``QueueFull`` beyond that.
    """

    def __init__(
        self,
        run: Callable[[List[Item]], List[Result]],
        cost: Callable[[Item], int],
        *,
        max_batch_tokens: int = 4096,
        max_wait_ms: float = 5.0,
        max_pending_tokens: Optional[int] = None,
    ):
        if max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self.run = run
        self.cost = cost
        self.max_batch_tokens = max_batch_tokens
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_pending_tokens = max_pending_tokens if max_pending_tokens is not None else 64 * max_batch_tokens
        self._pending: Deque[_Request[Item, Result]] = deque()
        self._pending_tokens = 0
        self._condition = threading.Condition()
        self._closed = False
        self._worker: Optional[threading.Thread] = None

    @property
    def pending_tokens(self) -> int:
        """Tokens submitted and not yet computed."""
        with self._condition:
            return self._pending_tokens

    def submit(self, items: Sequence[Item]) -> Future[List[Result]]:
        """Queue ``items``; the future gives their results in order (or the exception computing them raised).

        Raises:
            QueueFull: Too many tokens are waiting already.
            BatcherClosed: ``close`` was called.
        """
        request: _Request[Item, Result] = _Request(items, [max(1, self.cost(item)) for item in items])
        if not request.items:
            request.future.set_result([])
            return request.future
        tokens = sum(request.costs)
        with self._condition:
            if self._closed:
                raise BatcherClosed("the batcher is closed")
            # A request alone may always wait, however large: the caller bounds requests, not us.
            if self._pending and self._pending_tokens + tokens > self.max_pending_tokens:
                raise QueueFull(f"{self._pending_tokens} tokens are waiting; the most is {self.max_pending_tokens}")
            self._pending.append(request)
            self._pending_tokens += tokens
            self._start_worker()
            self._condition.notify()
        return request.future

    def close(self, timeout: Optional[float] = None) -> None:
        """Finish the requests already submitted, then stop the worker thread (idempotent)."""
        with self._condition:
            self._closed = True
            self._condition.notify()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def _start_worker(self) -> None:
        # Started on first use, so a batcher made outside a running server costs no thread.
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="tagger-micro-batcher", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._compute(batch)

    def _next_batch(self) -> Optional[List[Tuple[_Request[Item, Result], int]]]:
        """Wait for requests, then take the next batch: (request, how many of its items) pairs."""
        with self._condition:
            while not self._pending and not self._closed:
                self._condition.wait()
            if not self._pending:
                return None  # closed, and nothing left to do
            # From the oldest arrival: a request served in part has gone to the back of the queue.
            deadline = min(request.arrived for request in self._pending) + self.max_wait_s
            while self._pending_tokens < self.max_batch_tokens and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)
            return self._take()

    def _take(self) -> List[Tuple[_Request[Item, Result], int]]:
        """Share the token budget out among the waiting requests, oldest first (the lock is held)."""
        budget = self.max_batch_tokens
        taken: List[Tuple[_Request[Item, Result], int]] = []
        waiting = [request for request in self._pending if not request.future.cancelled()]
        for request in self._pending:
            if request.future.cancelled():  # its caller went away: drop its items
                self._pending_tokens -= request.remaining_cost
        self._pending = deque(waiting)
        for index, request in enumerate(waiting):
            share = max(1, budget // (len(waiting) - index))  # what the unserved requests leave, split evenly
            start = len(request.results)
            count, used = 0, 0
            for cost in request.costs[start:]:
                if count and used + cost > share:
                    break
                count, used = count + 1, used + cost
            if used > budget and taken:
                break  # an item larger than what is left waits for the next batch
            taken.append((request, count))
            budget -= used
            if budget <= 0:
                break
        return taken

    def _compute(self, batch: List[Tuple[_Request[Item, Result], int]]) -> None:
        """Run one batch and hand each request its results; on failure, run each request alone."""
        pieces = [request.items[len(request.results) : len(request.results) + count] for request, count in batch]
        try:
            results = self._run_checked([item for piece in pieces for item in piece])
        except Exception as error:
            if len(batch) == 1:
                self._fail(batch[0][0], error)
                return
            for (request, count), piece in zip(batch, pieces):
                try:
                    self._deliver(request, count, self._run_checked(piece))
                except Exception as alone:
                    self._fail(request, alone)
            return
        position = 0
        for request, count in batch:
            self._deliver(request, count, results[position : position + count])
            position += count

    def _run_checked(self, items: List[Item]) -> List[Result]:
        results = list(self.run(items))
        if len(results) != len(items):
            raise RuntimeError(f"the batch function returned {len(results)} results for {len(items)} items")
        return results

    def _deliver(self, request: _Request[Item, Result], count: int, results: List[Result]) -> None:
        """Record a request's results; complete its future once it has them all."""
        with self._condition:
            start = len(request.results)
            self._pending_tokens -= sum(request.costs[start : start + count])
            request.results.extend(results)
            done = len(request.results) == len(request.items)
            if done and request in self._pending:
                self._pending.remove(request)
            elif request in self._pending:  # a part is left: to the back, behind the others (round robin)
                self._pending.remove(request)
                self._pending.append(request)
        if done and request.future.set_running_or_notify_cancel():
            request.future.set_result(request.results)

    def _fail(self, request: _Request[Item, Result], error: Exception) -> None:
        """Drop a request's remaining items and give its caller the error."""
        with self._condition:
            self._pending_tokens -= request.remaining_cost
            if request in self._pending:
                self._pending.remove(request)
        if request.future.set_running_or_notify_cancel():
            request.future.set_exception(error)
